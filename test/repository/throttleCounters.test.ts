import { strict as assert } from 'node:assert';
import { RDSClient } from '@eggjs/rds';
import { app } from 'egg-mock/bootstrap';
import { databaseSettings } from '../../config/database';
import { prepareSessions } from '../../app/infra/dbSession';
import { type Counter, ThrottleRepository } from '../../app/repository/ThrottleRepository';
import { beforeEveryStatement } from '../conflicts';

const key = (name: string) => name.padEnd(64, '0');
const at = (iso: string) => new Date(iso);

describe('[repository/ThrottleRepository] the throttle\'s procedures', () => {
  // One connection: what a call leaves on it, the next statement sees.
  const settings = { ...databaseSettings('unittest'), connectionLimit: 1 };
  let db: RDSClient;
  let repo: ThrottleRepository;
  beforeEach(() => {
    db = new RDSClient(settings);
    prepareSessions(db, settings);
    repo = new ThrottleRepository(db);
  });
  afterEach(() => db.end());

  /** The statements the repository sends, by their first words. */
  function recordStatements(): string[] {
    const sent: string[] = [];
    beforeEveryStatement(db, sql => {
      sent.push(sql.split('(')[0]);
    });
    return sent;
  }

  describe('updateCounters: one transaction in two round trips (oauth_throttle_lock, oauth_throttle_write)', () => {
    const insertCounter = (name: string, failures: number) => db.query(
      'INSERT INTO auth_throttle (throttle_key, failures, pending, window_started_at) VALUES (?, ?, 0, ?)', [ key(name), failures, at('2026-01-01T00:00:00.000Z') ]);
    it('should send two statements for an accepted attempt, and only the locking one for a refused attempt', async () => {
      const sent = recordStatements();
      await repo.updateCounters([ key('a') ], () => ({ changes: new Map([[ key('a'), { failures: 0, pending: 1, pendingSince: new Date(), windowStartedAt: new Date(), blockedUntil: null }]]), result: 1 }));
      assert.deepEqual(sent, [ 'CALL oauth_throttle_lock', 'CALL oauth_throttle_write' ]);
      sent.length = 0;
      await repo.updateCounters([ key('a') ], () => ({ changes: null, result: 0 }));
      assert.deepEqual(sent, [ 'CALL oauth_throttle_lock' ]);
      const [ open ] = await db.query('SELECT @@in_transaction AS n');
      assert.equal(open.n, 0, 'the refused attempt rolled back');
    });

    it('should write updates, inserts and deletes, to the millisecond, and read them back with the known address asked for', async () => {
      await insertCounter('updated', 2);
      await insertCounter('deleted', 1);
      const blocked: Counter = { failures: 3, pending: 0, pendingSince: at('2026-12-02T08:00:00.123Z'), windowStartedAt: at('2026-12-02T07:59:00.456Z'), blockedUntil: at('2026-12-02T08:01:00.789Z') };
      const fresh: Counter = { failures: 0, pending: 1, pendingSince: null, windowStartedAt: at('2026-12-02T08:00:00.001Z'), blockedUntil: null };
      await repo.updateCounters([ key('updated'), key('deleted'), key('inserted') ], (counters, knownAddressAt) => {
        assert.deepEqual([ ...counters.keys() ].sort(), [ key('deleted'), key('updated') ]);
        assert.equal(knownAddressAt, null);
        return {
          changes: new Map<string, Counter | 'delete'>([[ key('updated'), blocked ], [ key('deleted'), 'delete' ], [ key('inserted'), fresh ]]),
          result: undefined,
        };
      });
      await repo.releaseCounters([], [], { key: key('known'), at: at('2026-12-02T08:00:00.999Z') });
      const read = await repo.updateCounters([ key('updated'), key('deleted'), key('inserted') ], (counters, knownAddressAt) => ({ changes: null, result: { counters, knownAddressAt } }), key('known'));
      assert.deepEqual(read.counters, new Map([[ key('updated'), blocked ], [ key('inserted'), fresh ]]));
      assert.deepEqual(read.knownAddressAt, at('2026-12-02T08:00:00.999Z'));
    });

    it('should read, lock and delete its own rows by primary key, however many counters the table holds', async () => {
      const rows = Array.from({ length: 1000 }, (_, i) => [ key(`other${i}-`), 0, 0, new Date() ]);
      await db.query('INSERT INTO auth_throttle (throttle_key, failures, pending, window_started_at) VALUES ?', [ rows ]);
      await insertCounter('mine', 1);
      const scanned = async () => Number((await app.mysql.query('SHOW GLOBAL STATUS LIKE \'Handler_read_rnd_next\''))[0].Value);
      const before = await scanned();
      await repo.updateCounters([ key('mine') ], () => ({ changes: new Map([[ key('mine'), 'delete' as const ]]), result: undefined }));
      // A DELETE … WHERE key IN (SELECT … FROM JSON_TABLE(…)) reads all 1,001 rows.
      assert.ok(await scanned() - before < 200, `${await scanned() - before} rows read in turn`);
    });

    it('should leave no transaction open when the decision fails', async () => {
      await assert.rejects(repo.updateCounters([ key('a') ], () => {
        throw new Error('decision failed');
      }), /decision failed/);
      const [ open ] = await db.query('SELECT @@in_transaction AS n');
      assert.equal(open.n, 0);
    });
  });

  describe('releaseCounters: a settle that fails nothing, one round trip (oauth_throttle_release)', () => {
    const insertCounter = (name: string, pending: number) => db.query(
      'INSERT INTO auth_throttle (throttle_key, failures, pending, pending_since, window_started_at) VALUES (?, 2, ?, ?, ?)',
      [ key(name), pending, at('2026-12-02T08:00:00.123Z'), at('2026-12-02T07:00:00.456Z') ]);
    const counters = async () => {
      const rows: Array<{ throttle_key: string; failures: number; pending: number; pending_since: Date }> =
      await db.query('SELECT throttle_key, failures, pending, pending_since FROM auth_throttle ORDER BY throttle_key');
      return Object.fromEntries(rows.map(row => [ row.throttle_key.replace(/0+$/, ''), [ row.failures, row.pending, row.pending_since.toISOString() ]]));
    };

    it('should end one pending attempt per key, never below zero, delete what it is told to, and leave the rest of each counter as it was', async () => {
      await insertCounter('two', 2);
      await insertCounter('none', 0);
      await insertCounter('cleared', 1);
      await repo.releaseCounters([ key('two'), key('none'), key('missing') ], [ key('cleared') ]);
      assert.deepEqual(await counters(), {
        two: [ 2, 1, '2026-12-02T08:00:00.123Z' ],
        none: [ 2, 0, '2026-12-02T08:00:00.123Z' ],
      }, 'no counter is made for a key that has none');
    });

    it('should remember a known address, to the millisecond, in the same statement', async () => {
      const sent = recordStatements();
      await repo.releaseCounters([ key('a') ], [], { key: key('known'), at: at('2026-12-02T08:00:00.999Z') });
      await repo.releaseCounters([ key('a') ], [], { key: key('known'), at: at('2026-12-02T09:00:00.001Z') });
      assert.deepEqual(sent, [ 'CALL oauth_throttle_release', 'CALL oauth_throttle_release' ]);
      const [ known ] = await db.query('SELECT last_success_at FROM auth_known_addresses WHERE address_key = ?', [ key('known') ]);
      assert.deepEqual(known.last_success_at, at('2026-12-02T09:00:00.001Z'));
      const [ open ] = await db.query('SELECT @@in_transaction AS n');
      assert.equal(open.n, 0, 'committed');
    });

    it('should reach its own rows by primary key, however many counters the table holds', async () => {
      const rows = Array.from({ length: 1000 }, (_, i) => [ key(`other${i}-`), 0, 1, new Date() ]);
      await db.query('INSERT INTO auth_throttle (throttle_key, failures, pending, window_started_at) VALUES ?', [ rows ]);
      await insertCounter('mine', 1);
      await insertCounter('gone', 1);
      const scanned = async () => Number((await app.mysql.query('SHOW GLOBAL STATUS LIKE \'Handler_read_rnd_next\''))[0].Value);
      const before = await scanned();
      await repo.releaseCounters([ key('mine') ], [ key('gone') ]);
      assert.ok(await scanned() - before < 200, `${await scanned() - before} rows read in turn`);
      const [ others ] = await db.query('SELECT SUM(pending) AS n FROM auth_throttle WHERE throttle_key LIKE \'other%\'');
      assert.equal(Number(others.n), 1000, 'no other counter changed');
    });
  });
});
