import type { RDSClient } from '@eggjs/rds';
import { retryTransaction } from './retry';
import { splitList } from './columns';

export interface User {
  id: number;
  username: string;
  email: string | null;
  phone: string | null;
  enabled: boolean;
  roles: string[];
  createdAt: Date;
}

export interface UserWithHash extends User {
  passwordHash: string;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  email?: string | null;
  phone?: string | null;
  roles?: string[];
}

interface UserRow {
  id: number;
  username: string;
  email: string | null;
  phone: string | null;
  password_hash: string;
  enabled: number;
  roles: string;
  gmt_create: Date;
}

function toUser(row: UserRow): UserWithHash {
  return {
    id: Number(row.id),
    username: row.username,
    email: row.email,
    phone: row.phone,
    enabled: row.enabled === 1,
    roles: splitList(row.roles),
    createdAt: row.gmt_create,
    passwordHash: row.password_hash,
  };
}

/** The user as it may leave the repository's callers: without its password hash. */
export function withoutHash(user: UserWithHash): User {
  const { id, username, email, phone, enabled, roles, createdAt } = user;
  return { id, username, email, phone, enabled, roles, createdAt };
}

export class UserRepository {
  constructor(private readonly db: RDSClient) {}

  async findUserByUsername(username: string): Promise<UserWithHash | null> {
    const row: UserRow | null = await this.db.queryOne('SELECT * FROM users WHERE username = ?', [ username ]);
    return row ? toUser(row) : null;
  }

  /** The email column compares without case (utf8mb4_unicode_ci), as mail systems mostly do. */
  async findUserByEmail(email: string): Promise<UserWithHash | null> {
    const row: UserRow | null = await this.db.queryOne('SELECT * FROM users WHERE email = ?', [ email ]);
    return row ? toUser(row) : null;
  }

  /** `phone` in E.164, as the admin command line stores it. */
  async findUserByPhone(phone: string): Promise<UserWithHash | null> {
    const row: UserRow | null = await this.db.queryOne('SELECT * FROM users WHERE phone = ?', [ phone ]);
    return row ? toUser(row) : null;
  }

  /** The user without its password hash (a browser session's user). */
  async findUserById(id: number): Promise<User | null> {
    const row: UserRow | null = await this.db.queryOne('SELECT * FROM users WHERE id = ?', [ id ]);
    return row ? withoutHash(toUser(row)) : null;
  }

  async listUsers(): Promise<User[]> {
    const rows: UserRow[] = await this.db.query('SELECT * FROM users ORDER BY id');
    return rows.map(row => withoutHash(toUser(row)));
  }

  /** Inserts a user; a duplicate username, email or phone throws ER_DUP_ENTRY. */
  async saveUser(user: NewUser): Promise<number> {
    const result = await this.db.query(
      'INSERT INTO users (username, password_hash, email, phone, roles) VALUES (?, ?, ?, ?, ?)',
      [ user.username, user.passwordHash, user.email ?? null, user.phone ?? null, (user.roles ?? []).join(' ') ],
    );
    return Number(result.insertId);
  }

  /** Returns false when no such user exists. */
  async updatePasswordHash(id: number, passwordHash: string): Promise<boolean> {
    // Parallel logins of an imported (bcrypt) user each upgrade its hash.
    const result = await retryTransaction(() => this.db.query('UPDATE users SET password_hash = ? WHERE id = ?', [ passwordHash, id ]));
    return result.affectedRows === 1;
  }

  /**
   * Sets the e-mail address and phone number given (null clears one, absent keeps it). Returns false
   * when no such user exists; a duplicate email or phone throws ER_DUP_ENTRY.
   */
  async updateContacts(id: number, contacts: { email?: string | null; phone?: string | null }): Promise<boolean> {
    const columns = ([ 'email', 'phone' ] as const).filter(column => contacts[column] !== undefined);
    if (columns.length === 0) return true;
    const result = await this.db.query(
      `UPDATE users SET ${columns.map(column => `${column} = ?`).join(', ')} WHERE id = ?`,
      [ ...columns.map(column => contacts[column]), id ],
    );
    return result.affectedRows === 1;
  }

  /** Returns false when no such user exists. */
  async updateEnabled(username: string, enabled: boolean): Promise<boolean> {
    const result = await this.db.query('UPDATE users SET enabled = ? WHERE username = ?', [ enabled ? 1 : 0, username ]);
    return result.affectedRows === 1;
  }
}
