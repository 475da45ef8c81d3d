/**
 * Database: JSON values over a real LevelDB, the single ordered writer with
 * group commit, durability modes, lock and corruption errors, close.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { Database } from '../../src/platform/storage/database.js';
import { DatabaseClosedError, DatabaseCorruptError, DatabaseLockedError } from '../../src/platform/storage/errors.js';
import { encodeKey, prefixRange } from '../../src/platform/storage/keys.js';

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'nt-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

t.test('basics: JSON values, reads, ranges, persistence', async (t) => {
  const path = join(tempDir(t), 'db');
  const db = await Database.open(path);
  t.ok(db.isOpen);
  t.equal(db.path, path);
  const value = { s: 'ünïcødé 😀', n: -12, f: 1.5, b: true, nul: null, arr: [1, 'two', { three: 3 }], nested: { deep: { er: [] } } };
  await db.put(encodeKey('obj', 1), value);
  t.same(await db.get(encodeKey('obj', 1)), value, 'a JSON value round-trips');
  t.equal(await db.get('missing'), undefined, 'a missing key reads as undefined');
  t.equal(await db.has(encodeKey('obj', 1)), true);
  t.equal(await db.has('missing'), false);
  await db.put('zero', 0);
  await db.put('false', false);
  await db.put('empty', '');
  t.equal(await db.get('zero'), 0);
  t.equal(await db.has('false'), true, 'falsy values exist');
  t.equal(await db.get('empty'), '');

  await db.write(Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: encodeKey('item', i), value: { i } })));
  await db.write([{ type: 'put', key: encodeKey('itemz', 0), value: 'not an item' }]);
  const all = await db.entries<{ i: number }>(prefixRange('item'));
  t.same(all.map(([, v]) => v.i), Array.from({ length: 20 }, (_, i) => i), 'entries in a prefix range, in order');
  t.same(await db.keys({ ...prefixRange('item'), reverse: true, limit: 3 }), [encodeKey('item', 19), encodeKey('item', 18), encodeKey('item', 17)], 'reverse with a limit');
  const iterated: number[] = [];
  for await (const [, v] of db.iterate<{ i: number }>({ gte: encodeKey('item', 5), lt: encodeKey('item', 300) })) iterated.push(v.i);
  t.same(iterated, Array.from({ length: 15 }, (_, i) => i + 5), 'iterate over a range (across nextv pages)');
  t.same(await db.getMany([encodeKey('item', 3), 'nope', encodeKey('item', 4)]), [{ i: 3 }, undefined, { i: 4 }], 'getMany keeps positions');

  await db.del(encodeKey('item', 3));
  t.equal(await db.get(encodeKey('item', 3)), undefined, 'del removes');
  await db.write([
    { type: 'del', key: encodeKey('item', 4) },
    { type: 'put', key: encodeKey('item', 4), value: 'again' },
  ]);
  t.equal(await db.get(encodeKey('item', 4)), 'again', 'ops of one write apply in order');
  await db.close();
  t.notOk(db.isOpen);

  const again = await Database.open(path);
  t.same(await again.get(encodeKey('obj', 1)), value, 'values survive a reopen');
  t.equal((await again.keys(prefixRange('item'))).length, 19);
  await again.close();
});

t.test('concurrent writes land in submission order and share batches', async (t) => {
  const db = await Database.open(join(tempDir(t), 'db'));
  t.teardown(() => db.close());
  const before = db.lastCommittedSeq;
  const resolved: number[] = [];
  const N = 300;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < N; i++) {
    // Every write sets the same key: only submission order decides the last value.
    const ops = [
      { type: 'put' as const, key: 'last', value: i },
      { type: 'put' as const, key: encodeKey('w', i), value: i },
    ];
    // Every third write deletes the key an earlier write put; a later one puts it back.
    if (i % 3 === 2) ops.push({ type: 'del' as const, key: encodeKey('w', i - 1) } as never);
    if (i % 3 === 0 && i > 0) ops.push({ type: 'put' as const, key: encodeKey('w', i - 2), value: -i });
    writes.push(db.write(ops, { durable: i % 7 === 0 }).then(() => void resolved.push(i)));
  }
  await Promise.all(writes);
  t.same(resolved, Array.from({ length: N }, (_, i) => i), 'writes resolve in submission order');
  t.equal(await db.get('last'), N - 1, 'the last submitted write wins');
  const entries = new Map(await db.entries<number>(prefixRange('w')));
  const missing: number[] = [];
  const wrong: string[] = [];
  for (let i = 0; i < N; i++) {
    const k = encodeKey('w', i);
    const deleted = i % 3 === 1 && i + 1 < N;
    const rewritten = i % 3 === 1 && i + 2 < N;
    if (deleted && !rewritten) {
      if (entries.has(k)) wrong.push(`${i} should be deleted`);
    } else if (!entries.has(k)) missing.push(i);
    else if (entries.get(k) !== (rewritten ? -(i + 2) : i)) wrong.push(`${i}: ${entries.get(k)}`);
  }
  t.same(missing, [], 'every write landed');
  t.same(wrong, [], 'deletes and later puts applied in submission order');
  const batches = db.lastCommittedSeq - before;
  t.ok(batches >= 1 && batches < N / 10, `${N} writes were committed in ${batches} LevelDB batches`);
});

t.test("a write that cannot be encoded fails alone, not the writes batched with it", async (t) => {
  const db = await Database.open(join(tempDir(t), 'db'));
  t.teardown(() => db.close());
  const results = await Promise.allSettled([
    db.put('a', 1),
    db.put('b', 2),
    db.put('bad', { n: 10n }),
    db.put('c', 3),
    db.write([
      { type: 'put', key: 'd', value: 4 },
      { type: 'put', key: 'bad2', value: 5n },
    ]),
    db.put('e', 5),
    db.put('null', null),
    db.put('undefined', undefined),
  ]);
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected'],
    'only the unencodable writes reject',
  );
  t.same(await db.entries(), [['a', 1], ['b', 2], ['c', 3], ['e', 5]], 'the others landed; a rejected write is all-or-nothing (no d)');
  await db.put('f', 6);
  t.equal(await db.get('f'), 6, 'the writer keeps going');
});

t.test('every LevelDB batch is let go once written or refused (none stays attached to the store)', async (t) => {
  const db = await Database.open(join(tempDir(t), 'db'));
  t.teardown(() => db.close());
  // The store keeps each open batch to close it on close: one left open per write would be a leak.
  const store = (db as unknown as { db: { attachResource(r: unknown): void; detachResource(r: unknown): void } }).db;
  const open = new Set<unknown>();
  const attach = store.attachResource.bind(store);
  const detach = store.detachResource.bind(store);
  store.attachResource = (r) => (open.add(r), attach(r));
  store.detachResource = (r) => (open.delete(r), detach(r));
  const writes = Array.from({ length: 50 }, (_, i) => db.put(`k${i}`, i % 10 === 9 ? 10n : i, { durable: i % 5 === 0 }));
  const settled = await Promise.allSettled(writes);
  t.equal(settled.filter((r) => r.status === 'rejected').length, 5, 'the unencodable writes were refused');
  t.ok(await waitFor(() => open.size === 0, 2000), `no batch left open (${open.size})`);
  t.equal((await db.entries()).length, 45, 'the others landed');
});

t.test('durability sync: durable writes are synced on commit; others in the background', async (t) => {
  const db = await Database.open(join(tempDir(t), 'db'), { durability: 'sync', backgroundSyncMs: 60_000 });
  t.teardown(() => db.close());
  await db.put('a', 1, { durable: true });
  t.equal(db.lastSyncedSeq, db.lastCommittedSeq, 'a durable write resolves synced');
  await db.put('b', 2);
  t.ok(db.lastSyncedSeq < db.lastCommittedSeq, 'a non-durable write resolves before any sync');
  const committed = db.lastCommittedSeq;
  const started = Date.now();
  await db.whenSynced();
  t.ok(db.lastSyncedSeq >= committed, 'whenSynced waits for a sync of everything committed so far');
  t.ok(Date.now() - started < 5000, 'whenSynced does not wait for the background interval');
  await db.whenSynced();
  t.pass('whenSynced with nothing pending resolves at once');
  await db.put('c', 3);
  await db.put('d', 4, { durable: true });
  t.equal(db.lastSyncedSeq, db.lastCommittedSeq, 'a durable write also syncs the non-durable ones before it');
});

t.test('durability relaxed: nothing waits for a sync; the database syncs soon after', async (t) => {
  const db = await Database.open(join(tempDir(t), 'db'), { durability: 'relaxed' });
  t.teardown(() => db.close());
  await db.put('a', 1, { durable: true });
  t.ok(db.lastSyncedSeq < db.lastCommittedSeq, 'a durable write resolves before it is synced');
  const committed = db.lastCommittedSeq;
  t.ok(await waitFor(() => db.lastSyncedSeq >= committed, 3000), 'the background sync (every 200 ms) catches up without being asked');
  for (let i = 0; i < 5; i++) await db.put(`k${i}`, i, { durable: true });
  const c2 = db.lastCommittedSeq;
  const started = Date.now();
  await db.whenSynced();
  t.ok(db.lastSyncedSeq >= c2, 'whenSynced resolves once synced');
  t.ok(Date.now() - started < 3000, `whenSynced resolved in ${Date.now() - started} ms (~200 ms expected)`);
});

t.test('a database locked by another process: DatabaseLockedError naming the path', async (t) => {
  const path = join(tempDir(t), 'db');
  const dbUrl = new URL('../../src/platform/storage/database.js', import.meta.url).href;
  const code = `import { Database } from ${JSON.stringify(dbUrl)};
const db = await Database.open(process.argv[1]);
await db.put('held', true, { durable: true });
process.stdout.write('open\\n');
process.stdin.resume();
process.stdin.on('end', async () => { await db.close(); process.exit(0); });`;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  const opened = await new Promise<boolean>((resolve) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('open\n')) resolve(true);
    });
    child.on('exit', () => resolve(false));
  });
  t.ok(opened, 'the child process holds the database');

  const err = await Database.open(path).then(
    (db) => db.close().then(() => undefined),
    (e: unknown) => e,
  );
  t.type(err, DatabaseLockedError);
  t.equal((err as DatabaseLockedError).path, path, 'the error carries the path');
  t.match((err as Error).message, path, 'and names it in its message');

  const exited = new Promise((r) => child.on('exit', r));
  child.stdin!.end();
  await exited;
  const db = await Database.open(path);
  t.equal(await db.get('held'), true, 'once the other process is gone the database opens');
  await db.close();
});

t.test('a corrupt database: DatabaseCorruptError, files left untouched', async (t) => {
  const path = join(tempDir(t), 'db');
  const db = await Database.open(path);
  for (let i = 0; i < 50; i++) await db.put(encodeKey('k', i), { i }, { durable: true });
  await db.close();
  const manifest = fs.readdirSync(path).find((f) => f.startsWith('MANIFEST-'));
  t.ok(manifest, 'LevelDB wrote a MANIFEST');
  const bytes = fs.readFileSync(join(path, manifest!));
  for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0xa5;
  fs.writeFileSync(join(path, manifest!), bytes);

  // LevelDB rotates its text LOG and keeps its LOCK file on every open; the data files must not change.
  const IGNORED = new Set(['LOG', 'LOG.old', 'LOCK']);
  const snapshot = () =>
    Object.fromEntries(
      fs
        .readdirSync(path)
        .filter((f) => !IGNORED.has(f))
        .sort()
        .map((f) => [f, createHash('sha256').update(fs.readFileSync(join(path, f))).digest('hex')]),
    );
  const before = snapshot();
  t.ok(Object.keys(before).some((f) => f.endsWith('.log') || f.endsWith('.ldb')), 'the data is on disk');

  for (const attempt of [1, 2]) {
    const err = await Database.open(path).then(
      (d) => d.close().then(() => undefined),
      (e: unknown) => e,
    );
    t.type(err, DatabaseCorruptError, `attempt ${attempt}: DatabaseCorruptError (not locked by the failed open)`);
    t.equal((err as DatabaseCorruptError).path, path);
    t.match((err as Error).message, path);
    t.same(snapshot(), before, `attempt ${attempt}: no data file was changed, added or removed`);
  }
});

t.test('close waits for queued writes; writes after close reject', async (t) => {
  const path = join(tempDir(t), 'db');
  const db = await Database.open(path, { durability: 'relaxed' });
  const settled: string[] = [];
  const writes = Array.from({ length: 100 }, (_, i) =>
    db.put(encodeKey('q', i), i, { durable: i % 2 === 0 }).then(
      () => void settled.push('ok'),
      () => void settled.push('failed'),
    ),
  );
  await db.close();
  t.equal(settled.length, 100, 'every queued write settled before close resolved');
  t.ok(settled.every((s) => s === 'ok'), 'and every one succeeded');
  await Promise.all(writes);
  t.notOk(db.isOpen);

  await t.rejects(db.put('late', 1), DatabaseClosedError, 'put after close');
  await t.rejects(db.write([{ type: 'del', key: 'x' }]), DatabaseClosedError, 'write after close');
  await t.rejects(db.get('x'), DatabaseClosedError, 'get after close');
  await t.rejects(db.entries(), DatabaseClosedError, 'entries after close');
  await db.close();
  t.pass('a second close is harmless');

  const again = await Database.open(path);
  t.equal((await again.keys(prefixRange('q'))).length, 100, 'everything written before close is there after a reopen');
  t.equal(await again.get('late'), undefined);
  await again.close();
});

t.test('a quiet process writes the memtable out once it holds a sixteenth of the write buffer, and loses nothing', async (t) => {
  const path = join(tempDir(t), 'db');
  const db = await Database.open(path, { writeBufferSize: 1024 * 1024 });
  const files = () => fs.readdirSync(path);
  const tables = () => files().filter((f) => f.endsWith('.ldb')).length;
  const logBytes = () => files().filter((f) => f.endsWith('.log')).reduce((a, f) => a + fs.statSync(join(path, f)).size, 0);
  // About 250 bytes a record, 100 records a batch; hashes so the values do not compress.
  let written = 0;
  const writeRecords = async (n: number) => {
    for (let end = written + n; written < end; ) {
      const ops = Array.from({ length: 100 }, () => {
        const i = written++;
        return { type: 'put' as const, key: encodeKey('rec', i), value: { i, body: createHash('sha512').update(String(i)).digest('hex').repeat(2) } };
      });
      await db.write(ops);
    }
  };

  await writeRecords(100);
  t.ok(logBytes() > 20_000 && logBytes() < 64 * 1024, `LevelDB logged about 30 KB (${logBytes()} bytes), under a sixteenth of the 1 MB buffer`);
  t.equal(await db.writeOutMemtable(), false, 'that memtable stays');
  t.equal(tables(), 0, 'no table written');

  await writeRecords(300);
  t.ok(logBytes() >= 64 * 1024, `about 120 KB logged now (${logBytes()} bytes)`);
  const [first, second] = [db.writeOutMemtable(), db.writeOutMemtable()];
  t.equal(first, second, 'a call while one is under way waits for that one');
  t.equal(await first, true, 'this memtable is written out');
  t.equal(tables(), 1, 'into one table');
  t.ok(logBytes() < 4096, `and LevelDB has moved on to a new log: what the memtable held is in the table (${logBytes()} bytes logged)`);
  t.equal(await db.writeOutMemtable(), false, 'with nothing new, nothing more to write out');
  const back = await db.entries<{ i: number }>(prefixRange('rec'));
  t.equal(back.length, written, 'every record reads back');
  t.ok(back.every(([, v], k) => v.i === k), 'in order, as written');

  // Closing while a write-out is under way: close waits for it.
  await writeRecords(1200);
  const during = db.writeOutMemtable();
  await db.close();
  t.type(await during, 'boolean', 'the write-out settles');
  const again = await Database.open(path, { writeBufferSize: 1024 * 1024 });
  t.equal((await again.keys(prefixRange('rec'))).length, written, 'after a reopen every record is there');
  await again.close();
});
