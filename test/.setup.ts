import { app } from 'egg-mock/bootstrap';

const TABLES = [ 'oauth_authorization_codes', 'oauth_consents', 'oauth_tokens', 'oauth_grants', 'oauth_clients', 'users', 'auth_throttle', 'auth_known_addresses', 'oauth_revocations', 'oauth_signing_keys', 'sms_codes' ];

/** Every test starts from empty tables (the schema stays). */
afterEach(async () => {
  const conn = await app.mysql.getConnection();
  try {
    await conn.query('SET FOREIGN_KEY_CHECKS = 0');
    for (const table of TABLES) await conn.query(`TRUNCATE TABLE ${table}`);
    await conn.query('SET FOREIGN_KEY_CHECKS = 1');
  } finally {
    conn.release();
  }
  // The worker forgets the deleted signing keys too: the next JWT makes a new first key.
  await app.container.signingKeys.refresh(0);
  // And the clients and tokens TRUNCATE removed behind the revocation feed's back (ids start again at 1).
  app.container.clientCache?.clear();
  app.container.tokenCache?.clear();
});
