import type { RDSClient } from '@eggjs/rds';
import { ClientRepository } from '../repository/ClientRepository';
import { GrantRepository } from '../repository/GrantRepository';
import { ThrottleRepository } from '../repository/ThrottleRepository';
import { TokenRepository } from '../repository/TokenRepository';
import { UserRepository } from '../repository/UserRepository';
import { Accounts } from './accounts';
import { type Argon2Options, PasswordHasher } from './password';

/** The repositories and account logic over one database; shared by the app and the command line. */
export interface Services {
  users: UserRepository;
  clients: ClientRepository;
  grants: GrantRepository;
  tokens: TokenRepository;
  throttle: ThrottleRepository;
  accounts: Accounts;
}

export function createServices(db: RDSClient, argon2: Argon2Options): Services {
  const users = new UserRepository(db);
  const clients = new ClientRepository(db);
  const grants = new GrantRepository(db);
  return {
    users,
    clients,
    grants,
    tokens: new TokenRepository(db),
    throttle: new ThrottleRepository(db),
    accounts: new Accounts(users, clients, grants, new PasswordHasher(argon2)),
  };
}
