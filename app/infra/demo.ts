import { DEMO_CLIENT, DEMO_USER } from '../../config/demo';
import type { Container } from './container';

/** Creates the demo client and user when absent. */
export async function loadDemoData(container: Container): Promise<string[]> {
  const created: string[] = [];
  if (!await container.clients.findClientByClientId(DEMO_CLIENT.clientId)) {
    await container.accounts.createClient(DEMO_CLIENT);
    created.push(`client ${DEMO_CLIENT.clientId}`);
  }
  if (!await container.users.findUserByUsername(DEMO_USER.username)) {
    await container.accounts.createUser(DEMO_USER);
    created.push(`user ${DEMO_USER.username}`);
  }
  return created;
}
