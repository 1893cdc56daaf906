import type { RDSClient } from '@eggjs/rds';
import { retryTransaction } from './retry';
import { splitList } from './columns';
import type { TaggedCache } from '../infra/taggedCache';
import { RevocationRepository, revocationTag } from './RevocationRepository';

export interface OAuthClient {
  id: number;
  clientId: string;
  /** Null for a public client (RFC 6749 §2.1: it cannot keep a secret; token_endpoint_auth_method none). */
  secretHash: string | null;
  grants: string[];
  scopes: string[];
  /** The scope of a token when the request names none; null = all of `scopes`. */
  defaultScope: string[] | null;
  redirectUris: string[];
  accessTokenLifetime: number | null;
  refreshTokenLifetime: number | null;
  enabled: boolean;
  /** May introspect the tokens of every client (RFC 7662 §4), not only its own. */
  resourceServer: boolean;
  /** A first-party client: the user is not asked to approve it. */
  skipConsent: boolean;
  /** Resource indicators (RFC 8707) the client may ask tokens for. */
  resources: string[];
  /** opaque: 256 random bits; jwt: an RFC 9068 JWT that resource servers verify on their own. */
  accessTokenFormat: AccessTokenFormat;
  /** The `aud` of its tokens when the request names no resource. */
  audience: string | null;
}

export type AccessTokenFormat = 'opaque' | 'jwt';

export type NewClient = Omit<OAuthClient, 'id' | 'enabled'>;

interface ClientRow {
  id: number;
  client_id: string;
  secret_hash: string | null;
  grants: string;
  scopes: string;
  default_scope: string | null;
  redirect_uris: string;
  access_token_lifetime: number | null;
  refresh_token_lifetime: number | null;
  enabled: number;
  resource_server: number;
  skip_consent: number;
  resources: string;
  access_token_format: AccessTokenFormat;
  audience: string | null;
}

function toClient(row: ClientRow): OAuthClient {
  return {
    id: Number(row.id),
    clientId: row.client_id,
    secretHash: row.secret_hash,
    grants: splitList(row.grants),
    scopes: splitList(row.scopes),
    defaultScope: row.default_scope === null ? null : splitList(row.default_scope),
    redirectUris: splitList(row.redirect_uris),
    accessTokenLifetime: row.access_token_lifetime,
    refreshTokenLifetime: row.refresh_token_lifetime,
    enabled: row.enabled === 1,
    resourceServer: row.resource_server === 1,
    skipConsent: row.skip_consent === 1,
    resources: splitList(row.resources),
    accessTokenFormat: row.access_token_format,
    audience: row.audience,
  };
}

/** What ends a cached client: a change to its row (disable, enable, delete) is written to the feed as `client:<id>`. */
export function clientTagsOf(client: OAuthClient): string[] {
  return [ revocationTag('client', client.id) ];
}

export class ClientRepository {
  constructor(private readonly db: RDSClient, private readonly cache?: TaggedCache<OAuthClient>) {}

  /**
   * With `cached`, the worker's client cache may answer (client authentication on every token,
   * introspection and revocation request): the revocation feed ends an entry within its bound when the
   * client is disabled, enabled or deleted anywhere.
   */
  async findClientByClientId(clientId: string, { cached = false } = {}): Promise<OAuthClient | null> {
    const load = () => this.queryClient(clientId);
    return cached && this.cache ? this.cache.lookup(clientId, load) : load();
  }

  private async queryClient(clientId: string): Promise<OAuthClient | null> {
    const row: ClientRow | null = await this.db.queryOne('SELECT * FROM oauth_clients WHERE client_id = ?', [ clientId ]);
    return row ? toClient(row) : null;
  }

  async listClients(): Promise<OAuthClient[]> {
    const rows: ClientRow[] = await this.db.query('SELECT * FROM oauth_clients ORDER BY client_id');
    return rows.map(toClient);
  }

  /** Inserts a client; a duplicate client id throws ER_DUP_ENTRY. */
  async saveClient(client: NewClient): Promise<number> {
    const result = await this.db.query(
      `INSERT INTO oauth_clients
        (client_id, secret_hash, grants, scopes, default_scope, redirect_uris, access_token_lifetime,
         refresh_token_lifetime, resource_server, skip_consent, resources, access_token_format, audience)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        client.clientId, client.secretHash, client.grants.join(' '), client.scopes.join(' '),
        client.defaultScope?.join(' ') ?? null, client.redirectUris.join(' '), client.accessTokenLifetime,
        client.refreshTokenLifetime, client.resourceServer ? 1 : 0, client.skipConsent ? 1 : 0, client.resources.join(' '),
        client.accessTokenFormat, client.audience,
      ],
    );
    return Number(result.insertId);
  }

  async updateSecretHash(id: number, secretHash: string): Promise<void> {
    // Parallel first requests of a client with an old hash each upgrade it.
    await retryTransaction(() => this.db.query('UPDATE oauth_clients SET secret_hash = ? WHERE id = ?', [ secretHash, id ]));
    // The same secret under a new hash: only this worker's copy would upgrade it again; others verify it as before.
    this.cache?.drop(revocationTag('client', id));
  }

  /** Enables or disables the client (oauth_clients.id) and tells every worker's client cache, in one transaction. */
  async updateEnabled(id: number, enabled: boolean): Promise<void> {
    await retryTransaction(() => this.db.beginTransactionScope(async conn => {
      await conn.query('UPDATE oauth_clients SET enabled = ? WHERE id = ?', [ enabled ? 1 : 0, id ]);
      await RevocationRepository.saveRevocation(conn, 'client', id);
    }));
    this.cache?.drop(revocationTag('client', id));
  }

  /** Every scope some enabled client may request (RFC 8414 scopes_supported). */
  async listScopes(): Promise<string[]> {
    const rows: Array<{ scopes: string }> = await this.db.query('SELECT DISTINCT scopes FROM oauth_clients WHERE enabled = 1');
    return [ ...new Set(rows.flatMap(row => splitList(row.scopes))) ].sort();
  }

  /** The longest life of a JWT access token: how long a retired signing key must stay published. */
  async findLongestJwtLifetime(defaultLifetime: number): Promise<number> {
    const [ row ]: Array<{ longest: number | null }> = await this.db.query(
      'SELECT MAX(COALESCE(access_token_lifetime, ?)) AS longest FROM oauth_clients WHERE access_token_format = \'jwt\'',
      [ defaultLifetime ],
    );
    return Math.max(Number(row?.longest ?? 0), defaultLifetime);
  }

  /** Whether any client wants JWT access tokens (production refuses to start without the KEKs then). */
  async hasJwtClients(): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM oauth_clients WHERE access_token_format = \'jwt\' LIMIT 1');
    return rows.length > 0;
  }

  /** Deletes the client and, by foreign key cascade, every token issued to it. False when absent. */
  async removeClient(clientId: string): Promise<boolean> {
    const removed = await this.db.beginTransactionScope(async conn => {
      const [ client ]: Array<{ id: number }> = await conn.query('SELECT id FROM oauth_clients WHERE client_id = ? FOR UPDATE', [ clientId ]);
      if (!client) return null;
      await conn.query('DELETE FROM oauth_clients WHERE id = ?', [ client.id ]);
      // It and its tokens are gone: every worker's client and token caches must forget them too.
      await RevocationRepository.saveRevocation(conn, 'client', client.id);
      return client.id;
    });
    if (removed !== null) this.cache?.drop(revocationTag('client', removed));
    return removed !== null;
  }
}
