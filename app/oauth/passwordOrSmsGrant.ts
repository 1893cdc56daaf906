import type { Client, Falsey, PasswordModel, Request, User } from 'oauth2-server';
import { InvalidGrantError, InvalidRequestError } from 'oauth2-server';
import PasswordGrantType from 'oauth2-server/lib/grant-types/password-grant-type';

/** The model's side of an SMS login (app/extend/oauth.ts). */
export interface SmsLoginModel extends PasswordModel {
  getUserBySmsCode(phone: string, code: string, client: Client): Promise<User | Falsey>;
}

/**
 * The password grant (RFC 6749 §4.3), which also takes the Spring server's SMS login:
 * `grant_type=password&auth_type=sms&username=<phone>&password=<code>`. The engine hands the model's
 * getUser only the username and password, never `auth_type`, so this grant replaces the engine's
 * (config.oAuth2Server.extendedGrantTypes) and reads it. Everything else is the engine's password
 * grant: scope validation, token generation, saveToken. A wrong, expired, spent or unknown code gets
 * the very answer of a wrong password.
 */
export class PasswordOrSmsGrant extends PasswordGrantType {
  async getUser(request: Request, client: Client): Promise<User> {
    const authType: unknown = request.body.auth_type;
    if (authType === undefined || authType === 'password') return super.getUser(request, client);
    if (authType !== 'sms') throw new InvalidRequestError('Invalid parameter: `auth_type` must be sms or password');
    const { username, password } = request.body as { username?: string; password?: string };
    if (!username) throw new InvalidRequestError('Missing parameter: `username`');
    if (!password) throw new InvalidRequestError('Missing parameter: `password`');
    const user = await (this.model as SmsLoginModel).getUserBySmsCode(username, password, client);
    if (!user) throw new InvalidGrantError('Invalid grant: user credentials are invalid');
    return user;
  }
}
