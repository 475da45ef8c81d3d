/** After a write fails for a reason other than encoding, the database accepts no more writes. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Database } from '../../src/platform/storage/database.js';
import { DatabaseWriteFailedError } from '../../src/platform/storage/errors.js';

t.test('a failed write stops later writes, which may depend on it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const failures: Error[] = [];
  const db = await Database.open(join(dir, 'db'), { onWriteFailure: (e) => failures.push(e) });
  await db.put('before', 1, { durable: true });
  // Pull the LevelDB handle out from under the writer: the next batch fails with an I/O-class error.
  await (db as unknown as { db: { close(): Promise<void> } }).db.close();
  const first = db.put('a', 1);
  const second = db.put('b', 2);
  await t.rejects(first, DatabaseWriteFailedError);
  await t.rejects(second, DatabaseWriteFailedError, 'a write queued behind the failed one is refused too');
  await t.rejects(db.put('c', 3), DatabaseWriteFailedError, 'and so is every later write');
  t.equal(failures.length, 1, 'the failure is reported once');
  t.ok(db.failed instanceof DatabaseWriteFailedError);

  const reopened = await Database.open(join(dir, 'db2'));
  await reopened.put('x', 1);
  t.equal(await reopened.get('x'), 1, 'a fresh database is unaffected');
  await reopened.close();
});

t.test('a value JSON cannot encode fails only its own write', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = await Database.open(join(dir, 'db'));
  const writes = [db.put('a', 1), db.put('bad', { n: 1n }), db.put('c', 3)];
  const results = await Promise.allSettled(writes);
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.equal(db.failed, undefined, 'the database goes on');
  t.equal(await db.get('c'), 3);
  await db.put('d', 4);
  await db.close();
});
