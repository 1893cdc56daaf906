import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Controller } from 'egg';
import { issuer } from '../oauth/authorize';

export default class FrontendController extends Controller {
  /**
   * GET /: the browser page. Served here rather than from app/public so that it passes egg-security,
   * which sets its Content-Security-Policy (static files are answered before that middleware runs).
   */
  async index() {
    const { ctx, app } = this;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-cache');
    // The code flow returns here with ?code=… in the URL until the script takes it out: no Referer carries it.
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.body = await readFile(path.join(app.baseDir, 'app/view/index.html'));
  }

  /**
   * GET /frontend/config.json: the clients the page signs in with (config.frontend).
   * - `client_id`, `client_secret`: the first-party client of the password form. A browser cannot keep
   *   a secret: this hands it to anyone who asks, like the original front end's hard-coded Basic header did.
   * - `code_flow_client_id`, `issuer`: the public client of the code flow with PKCE (no secret), and the
   *   issuer the page expects as `iss` in the authorization response (RFC 9207).
   * - `sms_login: true`: SMS login is on (SMS_SENDER), and the password form's client asks for codes
   *   and logs in with them (`auth_type=sms` of the password grant).
   * Each only when configured; 404 when neither client is.
   */
  async clientConfig() {
    const { ctx, app } = this;
    const { clientId, clientSecret, codeClientId } = app.config.frontend;
    ctx.set('Cache-Control', 'no-store');
    if (!clientId && !codeClientId) {
      ctx.status = 404;
      ctx.body = {
        error: 'not_found',
        error_description: 'No browser client is configured: set FRONTEND_CODE_CLIENT_ID, or FRONTEND_CLIENT_ID and FRONTEND_CLIENT_SECRET',
      };
      return;
    }
    ctx.body = {
      ...clientId ? { client_id: clientId, client_secret: clientSecret } : {},
      ...clientId && app.smsSender ? { sms_login: true } : {},
      ...codeClientId ? { code_flow_client_id: codeClientId, issuer: issuer(ctx) } : {},
    };
  }
}
