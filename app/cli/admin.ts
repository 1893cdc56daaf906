import { Command, InvalidArgumentError } from 'commander';
import { AccountError } from '../core/accounts';
import { phoneRegion } from '../core/identifiers';
import { OWASP_ARGON2ID } from '../core/password';
import { SigningKeyError } from '../core/signingKeys';
import { createContainer, type Container } from '../infra/container';
import { splitList } from '../repository/columns';
import { auditAdminChange } from './audit';
import { serverEnvironment } from '../../config/database';
import { jwtSettings } from '../../config/signing';
import { describeFailure, openDatabase } from './database';

/** `--grants password,refresh_token` or `--scopes "read write"`: commas or spaces. */
function list(value: string): string[] {
  return splitList(value.replace(/,/g, ' '));
}

/** Whole seconds, 0 included. */
function wholeSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected whole seconds');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected whole seconds greater than 0');
  return n;
}

/** Runs one command against the database, then closes it. */
function withContainer<T extends unknown[]>(action: (container: Container, ...args: T) => Promise<void>) {
  return async (...args: T) => {
    const db = await openDatabase();
    try {
      const serverEnv = serverEnvironment();
      await action(createContainer(db, {
        argon2: OWASP_ARGON2ID, production: serverEnv === 'prod', jwt: jwtSettings(serverEnv), phoneRegion: phoneRegion(process.env.PHONE_DEFAULT_REGION || ''),
      }), ...args);
    } finally {
      await db.end();
    }
  };
}

const program = new Command('npm run admin --')
  .description('Administer the OAuth2 server\'s clients and users (uses MYSQL_* and EGG_SERVER_ENV)')
  .showHelpAfterError();

program.command('client:create')
  .description('register a client; prints a generated secret once when --secret is not given')
  .requiredOption('--id <clientId>', 'client id')
  .option('--secret <secret>', 'client secret (prefer the generated one: a flag ends up in shell history)')
  .requiredOption('--grants <grants>', 'grant types, e.g. password,refresh_token', list)
  .option('--scopes <scopes>', 'scopes the client may request, e.g. "read write"', list)
  .option('--default-scope <scopes>', 'scope of a token when the request names none (default: all --scopes)', list)
  .option('--redirect-uris <uris>', 'redirect URIs for authorization_code: absolute http(s), compared exactly (loopback: any port)', list)
  .option('--public', 'a public client (browser or native app): no secret, authorization_code with PKCE and refresh_token only')
  .option('--skip-consent', 'a first-party client: its users are not asked to approve it')
  .option('--resources <uris>', 'resource indicators (RFC 8707) the client may ask tokens for', list)
  .option('--access-ttl <seconds>', 'access token lifetime (default from config: 7200)', seconds)
  .option('--refresh-ttl <seconds>', 'refresh token lifetime (default from config: 5184000)', seconds)
  .option('--resource-server', 'may introspect the tokens of every client, not only its own')
  .option('--access-token-format <format>', 'opaque (default) or jwt: RFC 9068 JWTs that resource servers verify with the JWKS (default lifetime 900 s)')
  .option('--audience <uri>', 'aud of the client\'s tokens when a request names no resource (required with jwt)')
  .action(withContainer(async ({ accounts, signingKeys }, opts: {
    id: string; secret?: string; grants: string[]; scopes?: string[]; defaultScope?: string[];
    redirectUris?: string[]; accessTtl?: number; refreshTtl?: number; resourceServer?: boolean;
    public?: boolean; skipConsent?: boolean; resources?: string[]; accessTokenFormat?: string; audience?: string;
  }) => {
    if (opts.accessTokenFormat === 'jwt' && !signingKeys.canSign) {
      throw new AccountError('JWT access tokens need JWT_KEKS (the keys that seal the signing keys) in production');
    }
    const { generatedSecret } = await accounts.createClient({
      clientId: opts.id,
      secret: opts.secret,
      grants: opts.grants,
      scopes: opts.scopes,
      defaultScope: opts.defaultScope,
      redirectUris: opts.redirectUris,
      accessTokenLifetime: opts.accessTtl,
      refreshTokenLifetime: opts.refreshTtl,
      resourceServer: opts.resourceServer,
      public: opts.public,
      skipConsent: opts.skipConsent,
      resources: opts.resources,
      accessTokenFormat: opts.accessTokenFormat,
      audience: opts.audience,
    });
    auditAdminChange('client:create', { clientId: opts.id });
    console.log(`created client ${opts.id}`);
    if (generatedSecret) {
      console.log(`client secret (shown once, store it now): ${generatedSecret}`);
    }
  }));

program.command('client:list')
  .description('list registered clients (never their secrets)')
  .action(withContainer(async ({ clients }) => {
    const rows = await clients.listClients();
    if (rows.length === 0) {
      console.log('no clients');
      return;
    }
    for (const c of rows) {
      console.log([
        c.clientId,
        `grants=${c.grants.join(',')}`,
        `scopes=${c.scopes.join(',') || '-'}`,
        `default_scope=${c.defaultScope?.join(',') ?? 'all'}`,
        `access_ttl=${c.accessTokenLifetime ?? 'default'}`,
        `refresh_ttl=${c.refreshTokenLifetime ?? 'default'}`,
        `redirect_uris=${c.redirectUris.join(',') || '-'}`,
        ...c.resources.length > 0 ? [ `resources=${c.resources.join(',')}` ] : [],
        `access_token_format=${c.accessTokenFormat}`,
        ...c.audience ? [ `audience=${c.audience}` ] : [],
        c.enabled ? 'enabled' : 'disabled',
        ...c.secretHash === null ? [ 'public' ] : [],
        ...c.skipConsent ? [ 'skip-consent' ] : [],
        ...c.resourceServer ? [ 'resource-server' ] : [],
      ].join('\t'));
    }
  }));

program.command('client:disable')
  .description('disable a client: no token is issued to it, and its live tokens stop working')
  .requiredOption('--id <clientId>', 'client id')
  .action(withContainer(async ({ accounts }, opts: { id: string }) => {
    await accounts.setClientEnabled(opts.id, false);
    auditAdminChange('client:disable', { clientId: opts.id });
    console.log(`disabled client ${opts.id}`);
  }));

program.command('client:enable')
  .description('enable a disabled client (its old tokens stay revoked)')
  .requiredOption('--id <clientId>', 'client id')
  .action(withContainer(async ({ accounts }, opts: { id: string }) => {
    await accounts.setClientEnabled(opts.id, true);
    auditAdminChange('client:enable', { clientId: opts.id });
    console.log(`enabled client ${opts.id}`);
  }));

program.command('client:delete')
  .description('delete a client and every token issued to it')
  .requiredOption('--id <clientId>', 'client id')
  .action(withContainer(async ({ accounts }, opts: { id: string }) => {
    await accounts.deleteClient(opts.id);
    auditAdminChange('client:delete', { clientId: opts.id });
    console.log(`deleted client ${opts.id}`);
  }));

program.command('user:create')
  .description('create a user, who logs in by username, e-mail address or phone number')
  .requiredOption('--username <username>', 'login name (not an e-mail address, not a number)')
  .requiredOption('--password <password>', 'password (at least 8 characters)')
  .option('--email <email>', 'e-mail address (unique)')
  .option('--phone <phone>', 'phone number (unique): +<country code>…, or national in PHONE_DEFAULT_REGION; stored as E.164')
  .option('--roles <roles>', 'roles, e.g. admin', list)
  .action(withContainer(async ({ accounts }, opts: {
    username: string; password: string; email?: string; phone?: string; roles?: string[];
  }) => {
    const userId = await accounts.createUser(opts);
    auditAdminChange('user:create', { userId });
    console.log(`created user ${opts.username}`);
  }));

program.command('user:import')
  .description('create a user from a password hash exported from another server (bcrypt $2a$/$2b$/$2y$, or argon2id)')
  .requiredOption('--username <username>', 'login name')
  .requiredOption('--password-hash <hash>', 'the stored hash; upgraded to argon2id at the next login')
  .option('--email <email>', 'e-mail address (unique)')
  .option('--phone <phone>', 'phone number (unique): +<country code>…, or national in PHONE_DEFAULT_REGION; stored as E.164')
  .option('--roles <roles>', 'roles, e.g. admin', list)
  .action(withContainer(async ({ accounts }, opts: {
    username: string; passwordHash: string; email?: string; phone?: string; roles?: string[];
  }) => {
    const userId = await accounts.importUser(opts);
    auditAdminChange('user:import', { userId });
    console.log(`imported user ${opts.username}`);
  }));

program.command('user:update')
  .description('change a user\'s e-mail address or phone number ("" removes it)')
  .requiredOption('--username <username>', 'login name')
  .option('--email <email>', 'new e-mail address (unique)')
  .option('--phone <phone>', 'new phone number (unique): +<country code>…, or national in PHONE_DEFAULT_REGION')
  .action(withContainer(async ({ accounts }, opts: { username: string; email?: string; phone?: string }) => {
    if (opts.email === undefined && opts.phone === undefined) throw new AccountError('nothing to change: give --email or --phone');
    await accounts.updateContacts(opts.username, { email: opts.email, phone: opts.phone });
    auditAdminChange('user:update', { username: opts.username });
    console.log(`updated user ${opts.username}`);
  }));

program.command('user:disable')
  .description('disable a user: no login, and its tokens stop working')
  .requiredOption('--username <username>', 'login name')
  .action(withContainer(async ({ accounts }, opts: { username: string }) => {
    await accounts.setEnabled(opts.username, false);
    auditAdminChange('user:disable', { username: opts.username });
    console.log(`disabled user ${opts.username}`);
  }));

program.command('user:enable')
  .description('enable a disabled user')
  .requiredOption('--username <username>', 'login name')
  .action(withContainer(async ({ accounts }, opts: { username: string }) => {
    await accounts.setEnabled(opts.username, true);
    auditAdminChange('user:enable', { username: opts.username });
    console.log(`enabled user ${opts.username}`);
  }));

program.command('user:password')
  .description('set a user\'s password')
  .requiredOption('--username <username>', 'login name')
  .requiredOption('--password <password>', 'new password (at least 8 characters)')
  .action(withContainer(async ({ accounts }, opts: { username: string; password: string }) => {
    await accounts.setPassword(opts.username, opts.password);
    auditAdminChange('user:password', { username: opts.username });
    console.log(`changed the password of ${opts.username}`);
  }));

program.command('user:sessions')
  .description('list the live logins (grants) of a user, one per device')
  .requiredOption('--username <username>', 'login name')
  .action(withContainer(async ({ accounts }, opts: { username: string }) => {
    const sessions = await accounts.listSessions(opts.username);
    if (sessions.length === 0) {
      console.log(`no live sessions for ${opts.username}`);
      return;
    }
    for (const s of sessions) {
      console.log([
        s.id,
        `client=${s.clientId}`,
        `since=${s.createdAt.toISOString()}`,
        `last_token=${s.lastIssuedAt.toISOString()}`,
        `expires=${s.expiresAt.toISOString()}`,
      ].join('\t'));
    }
  }));

program.command('user:logout')
  .description('revoke every live login of a user (logout on all devices)')
  .requiredOption('--username <username>', 'login name')
  .action(withContainer(async ({ accounts }, opts: { username: string }) => {
    const revoked = await accounts.logoutEverywhere(opts.username);
    auditAdminChange('user:logout', { username: opts.username, revoked });
    console.log(`revoked ${revoked} session(s) of ${opts.username}`);
  }));

program.command('keys:list')
  .description('list the signing keys of JWT access tokens (never their private halves)')
  .action(withContainer(async ({ signingKeys }) => {
    const keys = await signingKeys.list();
    if (keys.length === 0) {
      console.log('no signing keys (the first JWT access token makes one)');
      return;
    }
    for (const key of keys) {
      console.log([
        key.kid,
        key.alg,
        key.state,
        `created=${key.createdAt.toISOString()}`,
        `signs_from=${key.activatesAt.toISOString()}`,
        ...key.retiredAt ? [ `retired=${key.retiredAt.toISOString()}` ] : [],
        ...key.removeAfter ? [ `removed_after=${key.removeAfter.toISOString()}` ] : [],
      ].join('\t'));
    }
  }));

program.command('keys:rotate')
  .description('start a key rotation: a new key is published now and signs after the publish delay; the old one stays published until its tokens expire')
  .option('--publish-delay <seconds>', 'seconds before the new key signs (default JWT_KEY_PUBLISH_DELAY_SECONDS, 900): longer than verifiers cache the key set', wholeSeconds)
  .action(withContainer(async ({ signingKeys }, opts: { publishDelay?: number }) => {
    const key = await signingKeys.rotate(new Date(), opts.publishDelay);
    auditAdminChange('keys:rotate', { kid: key.kid });
    console.log(`created ${key.alg} key ${key.kid} (${key.state}): signs from ${key.activatesAt.toISOString()}`);
  }));

program.parseAsync().catch(err => {
  const known = err instanceof AccountError || err instanceof SigningKeyError;
  console.error(known ? `error: ${err.message}` : `error: ${describeFailure(err)}`);
  process.exitCode = 1;
});
