/** The client the original browser front end sends: Basic bXlfYXBwOm15X3NlY3JldA== (my_app:my_secret). */
export const DEMO_CLIENT = { clientId: 'my_app', secret: 'my_secret', grants: [ 'password', 'refresh_token' ] };
/**
 * The public client of the browser page's "Sign in with the authorization server" (the code flow with
 * PKCE): no secret, no consent page. Its redirect URI is the page itself, on whatever port it is served:
 * a loopback http redirect URI matches any port (RFC 8252 §7.3).
 */
export const DEMO_CODE_CLIENT = {
  clientId: 'my_spa',
  grants: [ 'authorization_code', 'refresh_token' ],
  redirectUris: [ 'http://127.0.0.1/', 'http://localhost/', 'http://[::1]/' ],
  public: true,
  skipConsent: true,
};
/** Its phone number takes SMS codes: with the `log` sender of `npm run dev`, they are in the app's log. */
export const DEMO_USER = { username: 'demo', password: 'demo-password', phone: '+8613800000000', roles: [ 'admin' ] };

/** Demo data exists only where a developer runs `npm run dev`: never in prod, nor anywhere else. */
export function hasDemoData(serverEnv: string): boolean {
  return serverEnv === 'local';
}
