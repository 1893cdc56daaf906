import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { app } from 'egg-mock/bootstrap';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { SigningKeyError, SigningKeys, parseKeks, sealPrivateKey, unsealPrivateKey } from '../../app/core/signingKeys';
import { SigningKeyRepository } from '../../app/repository/SigningKeyRepository';
import { SigningKeyRefresh, loadSigningKeys } from '../../app/infra/signingKeyRefresh';
import { jwtSettings } from '../../config/signing';
import { createClient } from '../helpers';

const KEK = randomBytes(32);
const OTHER_KEK = randomBytes(32);
const MINUTE = 60 * 1000;

function keyRing(keyEncryptionSecrets = [ KEK ], publishDelaySeconds = 900) {
  return new SigningKeys(new SigningKeyRepository(app.mysql), { alg: 'ES256', keyEncryptionSecrets, publishDelaySeconds });
}

async function storedKeys() {
  return app.mysql.query('SELECT kid, state, activates_at, retired_at, remove_after, private_sealed FROM oauth_signing_keys ORDER BY activates_at');
}

describe('signing keys of JWT access tokens', () => {
  describe('sealing private keys (AES-256-GCM under JWT_KEKS)', () => {
    const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'the-private-scalar' };

    it('should open under any of the KEKs, and seal under the first', () => {
      const sealed = sealPrivateKey(jwk, 'kid-1', [ KEK, OTHER_KEK ]);
      assert.ok(!sealed.includes('the-private-scalar'));
      assert.deepEqual(unsealPrivateKey(sealed, 'kid-1', [ OTHER_KEK, KEK ]), jwk);
      assert.throws(() => unsealPrivateKey(sealed, 'kid-1', [ OTHER_KEK ]), /sealed under a key that JWT_KEKS does not hold/);
    });

    it('should not open a sealed key moved to another kid, nor a tampered one', () => {
      const sealed = sealPrivateKey(jwk, 'kid-1', [ KEK ]);
      assert.throws(() => unsealPrivateKey(sealed, 'kid-2', [ KEK ]), /authenticate/);
      const parts = sealed.split('.');
      parts[4] = Buffer.from('tampered').toString('base64url');
      assert.throws(() => unsealPrivateKey(parts.join('.'), 'kid-1', [ KEK ]), /authenticate/);
    });

    it('should refuse to seal without a KEK', () => {
      assert.throws(() => sealPrivateKey(jwk, 'kid-1', []), SigningKeyError);
    });

    it('should read JWT_KEKS as comma-separated 32-byte base64 keys, and refuse others', () => {
      const keks = parseKeks(` ${KEK.toString('base64')}, ${OTHER_KEK.toString('base64url')} `);
      assert.deepEqual(keks, [ KEK, OTHER_KEK ]);
      assert.throws(() => parseKeks(randomBytes(16).toString('base64')), /key 1 is not 32 bytes/);
    });

    it('should have no KEK in production unless JWT_KEKS is set, and a public one elsewhere', () => {
      assert.deepEqual(jwtSettings('prod', {}).keyEncryptionSecrets, []);
      assert.equal(jwtSettings('local', {}).keyEncryptionSecrets.length, 1);
      assert.deepEqual(jwtSettings('prod', { JWT_KEKS: KEK.toString('base64') }).keyEncryptionSecrets, [ KEK ]);
      assert.throws(() => jwtSettings('prod', { JWT_ALG: 'EdDSA' }), /JWT_ALG must be one of ES256, RS256/);
    });
  });

  describe('rotation', () => {
    it('should make the first key at the first signature, active at once, stored sealed', async () => {
      const keys = keyRing();
      await keys.refresh(900);
      const token = await keys.sign({ sub: '1' });
      const [ row, ...others ] = await storedKeys();
      assert.equal(others.length, 0);
      assert.equal(row.state, 'active');
      assert.equal(decodeProtectedHeader(token).kid, row.kid);
      assert.match(row.private_sealed, /^v1\./);
      const [ stored ] = await app.mysql.query('SELECT public_jwk FROM oauth_signing_keys');
      assert.equal(JSON.parse(stored.public_jwk).d, undefined, 'the public JWK has no private part');
    });

    it('should publish a rotated key as next, sign with it after the publish delay, retire the old one until its tokens expired', async () => {
      const keys = keyRing();
      const start = new Date();
      await keys.refresh(900, start);
      const oldToken = await keys.sign({ sub: '1' }, start);
      const next = await keys.rotate(start);
      assert.equal(next.state, 'next');
      assert.equal(next.activatesAt.getTime(), start.getTime() + 900 * 1000);
      assert.equal((await keys.publicKeys()).length, 2, 'published before it signs');

      // Before the delay: still the old key, whatever a reload does.
      await keys.refresh(900, new Date(start.getTime() + MINUTE));
      const before = await keys.sign({ sub: '1' }, new Date(start.getTime() + MINUTE));
      assert.equal(decodeProtectedHeader(before).kid, decodeProtectedHeader(oldToken).kid);

      // After it: the new key signs even before a reload has stored the change.
      const due = new Date(start.getTime() + 16 * MINUTE);
      assert.equal(decodeProtectedHeader(await keys.sign({ sub: '1' }, due)).kid, next.kid);
      await keys.refresh(900, due);
      const states = Object.fromEntries((await storedKeys()).map((row: { kid: string; state: string }) => [ row.kid, row ]));
      assert.equal(states[next.kid].state, 'active');
      const old = states[decodeProtectedHeader(oldToken).kid as string];
      assert.equal(old.state, 'retired');
      assert.equal(old.remove_after.getTime() - old.retired_at.getTime(), 900 * 1000);

      // Still published while its tokens may live; removed after.
      await keys.refresh(900, new Date(due.getTime() + 10 * MINUTE));
      assert.equal((await keys.publicKeys()).length, 2);
      await keys.refresh(900, new Date(due.getTime() + 16 * MINUTE));
      assert.deepEqual((await keys.publicKeys()).map(key => key.kid), [ next.kid ]);
    });

    it('should let another process sign with a key it made, once it has reloaded (every host shares the keys)', async () => {
      const mine = keyRing();
      const theirs = keyRing([ OTHER_KEK, KEK ]);
      await mine.refresh(900);
      const token = await mine.sign({ sub: '1' });
      await theirs.refresh(900);
      assert.equal(decodeProtectedHeader(await theirs.sign({ sub: '1' })).kid, decodeProtectedHeader(token).kid);
      const [ jwk ] = await theirs.publicKeys();
      await jwtVerify(token, await importJWK(jwk, 'ES256'));
    });

    it('should sign with a key another host rotated in once the reload timer has run', async () => {
      const here = keyRing();
      await here.refresh(900);
      await here.sign({ sub: '1' });
      const refresh = new SigningKeyRefresh(here, app.container.clients, { accessTokenLifetime: 900, keyRefreshSeconds: 0.1 }, app.coreLogger);
      refresh.start();
      try {
        // Without a reload this process would go on signing with the first key.
        const rotated = await keyRing().rotate(new Date(), 0);
        await sleep(300);
        assert.equal(decodeProtectedHeader(await here.sign({ sub: '1' })).kid, rotated.kid);
      } finally {
        refresh.stop();
      }
    });

    it('should keep one active key when two processes make a first key at once', async () => {
      const first = keyRing();
      const second = keyRing();
      await Promise.all([ first.refresh(900), second.refresh(900) ]);
      await Promise.all([ first.sign({ sub: '1' }), second.sign({ sub: '1' }) ]);
      await first.refresh(900);
      const states: string[] = (await storedKeys()).map((row: { state: string }) => row.state);
      assert.equal(states.filter(state => state === 'active').length, 1, states.join());
    });

    it('should refuse to load keys sealed under a KEK that JWT_KEKS does not hold', async () => {
      const keys = keyRing();
      await keys.refresh(900);
      await keys.sign({ sub: '1' });
      await assert.rejects(keyRing([ OTHER_KEK ]).refresh(900), /sealed under a key that JWT_KEKS does not hold/);
    });

    it('should generate RS256 keys when JWT_ALG says so', async () => {
      const keys = new SigningKeys(new SigningKeyRepository(app.mysql), { alg: 'RS256', keyEncryptionSecrets: [ KEK ], publishDelaySeconds: 900 });
      await keys.refresh(900);
      const token = await keys.sign({ sub: '1' });
      assert.equal(decodeProtectedHeader(token).alg, 'RS256');
      const [ jwk ] = await keys.publicKeys();
      assert.equal(jwk.kty, 'RSA');
    });
  });

  describe('start-up', () => {
    it('should refuse to start without the KEKs while a client wants JWT access tokens', async () => {
      const keys = keyRing([]);
      const config = { accessTokenLifetime: 900, keyRefreshSeconds: 30 };
      assert.equal(await loadSigningKeys(keys, app.container.clients, config, app.coreLogger), undefined, 'no JWT client: starts without signing');
      await createClient(app, { accessTokenFormat: 'jwt', audience: 'https://api.example' });
      await assert.rejects(loadSigningKeys(keys, app.container.clients, config, app.coreLogger), /set JWT_KEKS/);
    });
  });
});
