import { strict as assert } from 'node:assert';
import { app, mock } from 'egg-mock/bootstrap';
import { generateGrantId, generateToken, hashToken } from '../../app/core/token';
import type { NewToken } from '../../app/repository/TokenRepository';
import { CLIENT, createClient, createUser } from '../helpers';
import { beforeEveryStatement } from '../conflicts';

describe('[repository/TokenRepository] saveToken: one transaction in one round trip (oauth_save_token)', () => {
  let clientPk: number;
  let userId: number;

  beforeEach(async () => {
    await createClient(app);
    userId = await createUser(app);
    clientPk = (await app.container.clients.findClientByClientId(CLIENT.clientId))!.id;
  });

  function newToken(grantId: string, accessTokenHash = hashToken(generateToken())): NewToken {
    return {
      grantId, accessTokenHash, accessTokenExpiresAt: new Date(Date.now() + 60000), refreshTokenHash: hashToken(generateToken()),
      refreshTokenExpiresAt: new Date(Date.now() + 120000), clientId: clientPk, userId, scope: [ 'read' ], audience: null,
    };
  }
  const grantOf = (id: string) => ({ id, clientId: clientPk, userId, scope: [ 'read' ], resource: null, authTime: new Date() });
  const count = async (table: string) => Number((await app.mysql.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);

  it('should send one statement for a login\'s grant and token', async () => {
    const sent: string[] = [];
    beforeEveryStatement(app.mysql, sql => {
      sent.push(sql);
    });
    const grantId = generateGrantId();
    assert.equal(await app.container.tokens.saveToken(newToken(grantId), { grant: grantOf(grantId) }), true);
    assert.deepEqual(sent.map(sql => sql.split('(')[0]), [ 'CALL oauth_save_token' ]);
    mock.restore();
    assert.equal(await count('oauth_grants'), 1);
    assert.equal(await count('oauth_tokens'), 1);
  });

  it('should store nothing, not even the grant, when the token cannot be stored, and leave no transaction open', async () => {
    const grantId = generateGrantId();
    const taken = newToken(grantId);
    await app.container.tokens.saveToken(taken, { grant: grantOf(grantId) });
    const other = generateGrantId();
    await assert.rejects(app.container.tokens.saveToken(newToken(other, taken.accessTokenHash), { grant: grantOf(other) }), /Duplicate entry/);
    assert.deepEqual((await app.mysql.query('SELECT id FROM oauth_grants')).map((row: { id: string }) => row.id), [ grantId ]);
    // The procedure's handler rolled back before it handed the error on: the connection goes back to the pool clean.
    const conn = await app.mysql.getConnection();
    try {
      await assert.rejects(conn.query('CALL oauth_save_token(?, 1, \'\', NULL, NULL, NULL, NULL, ?, NOW(3), NULL, NULL, ?, NULL, \'\', NULL)', [
        generateGrantId(), taken.accessTokenHash, clientPk,
      ]), /Duplicate entry/);
      const [{ open }] = await conn.query('SELECT @@in_transaction AS open');
      assert.equal(Number(open), 0);
    } finally {
      conn.release();
    }
  });

  it('should spend a refresh token once: a second spend stores nothing and says so', async () => {
    const grantId = generateGrantId();
    await app.container.tokens.saveToken(newToken(grantId), { grant: grantOf(grantId) });
    const [{ id: tokenId }] = await app.mysql.query('SELECT id FROM oauth_tokens');
    assert.equal(await app.container.tokens.saveToken(newToken(grantId), { spends: { tokenId, at: new Date() } }), true);
    assert.equal(await app.container.tokens.saveToken(newToken(grantId), { spends: { tokenId, at: new Date() } }), false);
    assert.equal(await count('oauth_tokens'), 2);
    const revocations = await app.mysql.query('SELECT kind, subject FROM oauth_revocations');
    assert.deepEqual(revocations.map((row: { kind: string; subject: string }) => `${row.kind}:${row.subject}`), [ `token:${tokenId}` ]);
  });

  it('should undo the spend when the new token cannot be stored', async () => {
    const grantId = generateGrantId();
    const first = newToken(grantId);
    await app.container.tokens.saveToken(first, { grant: grantOf(grantId) });
    const [{ id: tokenId }] = await app.mysql.query('SELECT id FROM oauth_tokens');
    await assert.rejects(app.container.tokens.saveToken(newToken(grantId, first.accessTokenHash), { spends: { tokenId, at: new Date() } }), /Duplicate entry/);
    const [{ revoked_at: revokedAt }] = await app.mysql.query('SELECT revoked_at FROM oauth_tokens WHERE id = ?', [ tokenId ]);
    assert.equal(revokedAt, null);
    assert.equal(await count('oauth_revocations'), 0);
  });
});
