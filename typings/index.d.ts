// The app's own augmentations of egg's types. egg-ts-helper (`ets`) writes typings/app and
// typings/config from the sources; what it cannot infer is declared here, by hand.
import 'egg';
import type { ServerOptions } from 'oauth2-server';
import type { BearerOptions } from '../app/oauth/bearer';

declare module 'egg' {
  interface EggAppConfig {
    /**
     * Options of @node-oauth/oauth2-server as egg-oauth2-server passes them on (the plugin declares
     * app.oAuth2Server, not its config). `errorHandler` replaces the plugin's own error answers.
     */
    oAuth2Server: Omit<ServerOptions, 'model'> & {
      debug: boolean;
      /** The grant types this server runs. */
      grants: string[];
      errorHandler(ctx: Context, err: Error, response?: { headers: Record<string, string> }): void;
    };
  }
}

declare module 'oauth2-server' {
  /** app.oAuth2Server.authenticate() takes koa-jwt's options too (app/oauth/bearer.ts). */
  interface AuthenticateOptions extends BearerOptions {}
}
