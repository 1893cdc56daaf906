import { DEMO_CLIENT, DEMO_CODE_CLIENT, DEMO_USER } from '../../config/demo';
import type { Container } from './container';

/** Creates the demo clients and user when absent. */
export async function loadDemoData(container: Container): Promise<string[]> {
  const created: string[] = [];
  for (const client of [ DEMO_CLIENT, DEMO_CODE_CLIENT ]) {
    if (!await container.clients.findClientByClientId(client.clientId)) {
      await container.accounts.createClient(client);
      created.push(`client ${client.clientId}`);
    }
  }
  if (!await container.users.findUserByUsername(DEMO_USER.username)) {
    await container.accounts.createUser(DEMO_USER);
    created.push(`user ${DEMO_USER.username}`);
  }
  return created;
}
