/** The client the original browser front end sends: Basic bXlfYXBwOm15X3NlY3JldA== (my_app:my_secret). */
export const DEMO_CLIENT = { clientId: 'my_app', secret: 'my_secret', grants: [ 'password', 'refresh_token' ] };
export const DEMO_USER = { username: 'demo', password: 'demo-password', roles: [ 'admin' ] };

/** Demo data exists only where a developer runs `npm run dev`: never in prod, nor anywhere else. */
export function hasDemoData(serverEnv: string): boolean {
  return serverEnv === 'local';
}
