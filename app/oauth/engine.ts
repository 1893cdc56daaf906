import type { Application, Context } from 'egg';
import { Request, Response } from 'oauth2-server';

type Handle = 'token' | 'authenticate' | 'authorize';

/** The part of egg-oauth2-server's OAuth2 instance (app.oAuth2Server) that runs one request. */
interface EggOAuth2 {
  /** Read once, by the plugin's `server` getter, to build the model. */
  ctx?: Context;
  config: { errorHandler?: (ctx: Context, err: unknown, response: Response) => void };
  readonly server: Record<Handle, (request: Request, response: Response, options: unknown) => Promise<unknown>>;
  execute(handle: Handle, ctx: Context, options: unknown): Promise<unknown>;
}

/**
 * egg-oauth2-server's per-request step (OAuth2#execute), behind token(), authenticate() and
 * authorize(), without its copies of koa's objects: it builds the engine's Response from a `for…in`
 * copy of ctx.response, which runs every getter of koa's response (the body's length, its type, the
 * socket…) and copies every property the engine then copies again, on every token request and Bearer
 * check. The engine reads a request's headers, method, query and body; our authorize step reads its
 * ctx (oauth/authorize sessionUser). The answer is handed over as the plugin does it: body, status,
 * headers; errors go to config.oAuth2Server.errorHandler (our errorHandler middleware).
 */
export function leanEngineRequests(app: Application): void {
  const plugin = app.oAuth2Server as unknown as EggOAuth2;
  plugin.execute = async function execute(this: EggOAuth2, handle: Handle, ctx: Context, options: unknown): Promise<unknown> {
    this.ctx = ctx;
    // The engine types headers as strings; node gives arrays only for headers the engine never reads.
    const headers = ctx.request.headers as Record<string, string>;
    const request = new Request({ headers, method: ctx.method, query: ctx.query, body: ctx.request.body, ctx });
    const response = new Response();
    try {
      const result = await this.server[handle](request, response, options);
      ctx.body = response.body;
      ctx.status = response.status ?? 200;
      if (response.headers) ctx.set(response.headers);
      return result;
    } catch (err) {
      if (!this.config.errorHandler) throw err;
      this.config.errorHandler(ctx, err, response);
      return null;
    }
  };
}
