import type { Application } from 'egg';
import { cleanupTokens } from '../core/cleanup';

/** Deletes expired and long-revoked tokens; one worker per host, one host at a time per database (named lock). */
export default (app: Application) => ({
  schedule: {
    interval: app.config.oauth.cleanup.interval,
    type: 'worker',
  },
  async task() {
    const { cleanup, throttle } = app.config.oauth;
    const report = await cleanupTokens(app.container, { ...cleanup, knownAddressSeconds: throttle.knownAddressSeconds });
    if (!report) {
      app.coreLogger.info('[cleanup] skipped: another process is cleaning up');
      return;
    }
    app.coreLogger.info('[cleanup] removed %d expired tokens, %d revoked grants, %d empty grants, %d expired codes, %d throttle counters, %d known addresses, %d feed entries, %d expired SMS codes',
      report.expiredTokens, report.revokedGrants, report.emptyGrants, report.expiredCodes, report.throttleCounters, report.knownAddresses, report.revocations, report.expiredSmsCodes);
  },
});
