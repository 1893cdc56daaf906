// An ambient module (no top-level import here): the engine's own typings declare only AbstractGrantType.

/**
 * The engine's password grant, which PasswordOrSmsGrant (app/oauth/passwordOrSmsGrant.ts) extends.
 */
declare module 'oauth2-server/lib/grant-types/password-grant-type' {
  import { AbstractGrantType, type Client, type PasswordModel, type Request, type Token, type User } from 'oauth2-server';

  class PasswordGrantType extends AbstractGrantType {
    protected model: PasswordModel;
    handle(request: Request, client: Client): Promise<Token>;
    /** RFC 6749 §4.3.2: `username` and `password` from the body, checked by the model's getUser. */
    getUser(request: Request, client: Client): Promise<User>;
  }
  export = PasswordGrantType;
}
