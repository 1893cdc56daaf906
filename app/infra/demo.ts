import type { Services } from './container';

/** The client the original browser front end sends: Basic bXlfYXBwOm15X3NlY3JldA== (my_app:my_secret). */
export const DEMO_CLIENT = { clientId: 'my_app', secret: 'my_secret', grants: [ 'password', 'refresh_token' ] };
export const DEMO_USER = { username: 'demo', password: 'demo-password', roles: [ 'admin' ] };

/** Demo data exists only where a developer runs `npm run dev`: never in prod, nor anywhere else. */
export function hasDemoData(serverEnv: string): boolean {
  return serverEnv === 'local';
}

/** Creates the demo client and user when absent. */
export async function loadDemoData(services: Services): Promise<string[]> {
  const created: string[] = [];
  if (!await services.clients.findClientByClientId(DEMO_CLIENT.clientId)) {
    await services.accounts.createClient(DEMO_CLIENT);
    created.push(`client ${DEMO_CLIENT.clientId}`);
  }
  if (!await services.users.findUserByUsername(DEMO_USER.username)) {
    await services.accounts.createUser(DEMO_USER);
    created.push(`user ${DEMO_USER.username}`);
  }
  return created;
}
