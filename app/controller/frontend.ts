import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Controller } from 'egg';

export default class FrontendController extends Controller {
  /**
   * GET /: the browser page. Served here rather than from app/public so that it passes egg-security,
   * which sets its Content-Security-Policy (static files are answered before that middleware runs).
   */
  async index() {
    const { ctx, app } = this;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = await readFile(path.join(app.baseDir, 'app/view/index.html'));
  }

  /**
   * GET /frontend/config.json: the first-party client the page logs in with (config.frontend). A
   * browser cannot keep a secret; this hands it to anyone who asks, like the original front end's
   * hard-coded Basic header did.
   */
  async clientConfig() {
    const { ctx, app } = this;
    const { clientId, clientSecret } = app.config.frontend;
    ctx.set('Cache-Control', 'no-store');
    if (!clientId) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'No browser client is configured: set FRONTEND_CLIENT_ID and FRONTEND_CLIENT_SECRET' };
      return;
    }
    ctx.body = { client_id: clientId, client_secret: clientSecret };
  }
}
