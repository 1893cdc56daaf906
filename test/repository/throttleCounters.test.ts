import { strict as assert } from 'node:assert';
import { RDSClient } from '@eggjs/rds';
import { app } from 'egg-mock/bootstrap';
import { databaseSettings } from '../../config/database';
import { prepareSessions } from '../../app/infra/dbSession';
import { type Counter, ThrottleRepository } from '../../app/repository/ThrottleRepository';
import { beforeEveryStatement } from '../conflicts';

const key = (name: string) => name.padEnd(64, '0');
const at = (iso: string) => new Date(iso);

describe('[repository/ThrottleRepository] updateCounters: one transaction in two round trips (oauth_throttle_lock, oauth_throttle_write)', () => {
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

  const insertCounter = (name: string, failures: number) => db.query(
    'INSERT INTO auth_throttle (throttle_key, failures, pending, window_started_at) VALUES (?, ?, 0, ?)', [ key(name), failures, at('2026-01-01T00:00:00.000Z') ]);
  /** The statements the repository sends, by their first words. */
  function recordStatements(): string[] {
    const sent: string[] = [];
    beforeEveryStatement(db, sql => {
      sent.push(sql.split('(')[0]);
    });
    return sent;
  }

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

  it('should write updates, inserts, deletes and a known address, to the millisecond, and read them back', async () => {
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
        knownAddress: { key: key('known'), at: at('2026-12-02T08:00:00.999Z') },
      };
    });
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
