/**
 * The append log in one process: real LevelDB, direct calls, and one part
 * over a real Unix socket. The crash behaviour across processes is in
 * log-crash.test.ts.
 */
import { rng } from '../helpers/random.js';
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiDirectory, type Client } from '../../src/platform/ipc/directory.js';
import { IpcServer } from '../../src/platform/ipc/server.js';
import { LogConsumer, type ConsumerOptions } from '../../src/platform/log/consumer.js';
import { LogProducer } from '../../src/platform/log/producer.js';
import { logReaderApi, type LogReaderAPI, type ReadRequest } from '../../src/platform/log/reader-api.js';
import { defineTopic, type LogRecord, type TopicDescriptor } from '../../src/platform/log/topic.js';
import { Database, type WriteOp } from '../../src/platform/storage/database.js';
import { encodeKey, prefixRange } from '../../src/platform/storage/keys.js';

interface Rec {
  n: number;
  tag?: string;
}

const EVENTS = defineTopic<Rec>('roomserver', 'events');
const OTHER = defineTopic<Rec>('roomserver', 'other');
/** Records with a tag are of that kind; the others of none a test asks for. */
const KINDED = defineTopic<Rec>('roomserver', 'kinded', { kindOf: (r) => r.tag ?? 'untagged' });
const TOPICS = [EVENTS, OTHER, KINDED] as TopicDescriptor<unknown>[];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));


async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'neurite-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function openDb(t: Test, path: string, opts: Parameters<typeof Database.open>[1] = {}): Promise<Database> {
  const db = await Database.open(path, opts);
  t.teardown(() => db.close());
  return db;
}

async function openProducer(t: Test, db: Database): Promise<LogProducer> {
  const p = new LogProducer(db, TOPICS);
  await p.open();
  t.teardown(() => p.close());
  return p;
}

/** The reader a consumer in the producer's own process gets. */
function directReader(producer: LogProducer): Client<LogReaderAPI> {
  const apis = new ApiDirectory({ socketFor: () => undefined });
  apis.provide(logReaderApi('roomserver'), producer);
  return apis.get(logReaderApi('roomserver'));
}

/** Records in the producer's log, in key order. */
async function logOf(db: Database, topic: TopicDescriptor<unknown>): Promise<LogRecord<Rec>[]> {
  const out: LogRecord<Rec>[] = [];
  for (const [k, v] of await db.entries<Rec>(prefixRange('log', topic.name))) {
    out.push({ offset: parseInt(k.slice(k.lastIndexOf('\x00') + 2), 16), record: v });
  }
  return out;
}

interface Applied {
  offset: number;
  n: number;
}

/**
 * A deliberately non-idempotent handler: it bumps a counter and appends to
 * a list keyed by that counter, so a batch applied twice leaves two entries
 * and a counter that is too high.
 */
function countingHandler(db: Database, topic: string, seen?: LogRecord<Rec>[][]) {
  return async (batch: LogRecord<Rec>[]): Promise<WriteOp[]> => {
    seen?.push(batch);
    const count = (await db.get<number>(encodeKey('count', topic))) ?? 0;
    const ops: WriteOp[] = batch.map((r, i) => ({
      type: 'put',
      key: encodeKey('applied', topic, count + i + 1),
      value: { offset: r.offset, n: r.record.n } satisfies Applied,
    }));
    ops.push({ type: 'put', key: encodeKey('count', topic), value: count + batch.length });
    return ops;
  };
}

/** A consumer that is stopped when the test ends, whatever happened. */
function consumerFor(t: Test, opts: ConsumerOptions<Rec>): LogConsumer<Rec> {
  const c = new LogConsumer<Rec>(opts);
  t.teardown(() => c.stop());
  return c;
}

async function appliedOf(db: Database, topic: string): Promise<{ count: number; applied: Applied[] }> {
  const count = (await db.get<number>(encodeKey('count', topic))) ?? 0;
  const applied = (await db.entries<Applied>(prefixRange('applied', topic))).map(([, v]) => v);
  return { count, applied };
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

const req = (over: Partial<ReadRequest>): ReadRequest => ({
  topic: EVENTS.name,
  consumer: 'c',
  from: 1,
  limit: 1000,
  waitMs: 0,
  durable: 0,
  ...over,
});

t.test('offsets follow queue order under concurrent writes, and the log holds each record at its offset', async (t) => {
  const dir = tempDir(t);
  const db = await openDb(t, join(dir, 'p'));
  const producer = await openProducer(t, db);
  const random = rng(0x5eed01);

  // 1. Many writes queued in one tick: they are merged into few batches.
  const calls: { topics: TopicDescriptor<Rec>[]; promise: Promise<number[]> }[] = [];
  let n = 0;
  for (let i = 0; i < 300; i++) {
    const topics = Array.from({ length: 1 + Math.floor(random() * 3) }, () => (random() < 0.6 ? EVENTS : OTHER));
    const appends = topics.map((topic) => ({ topic, record: { n: ++n, tag: `burst-${i}` } }));
    calls.push({ topics, promise: producer.write([{ type: 'put', key: encodeKey('state', i), value: i }], appends, { durable: random() < 0.5 }) });
  }
  const seqBefore = db.lastCommittedSeq;
  const results = await Promise.all(calls.map((c) => c.promise));
  t.ok(db.lastCommittedSeq - seqBefore < calls.length, `300 concurrent writes were group-committed (${db.lastCommittedSeq - seqBefore} batches)`);

  // 2. Independent writers, each awaiting its own writes, interleaving with each other.
  const writers = await Promise.all(
    range(1, 6).map(async (w) => {
      const mine: { topic: string; offset: number; n: number }[] = [];
      for (let i = 0; i < 40; i++) {
        const topic = random() < 0.5 ? EVENTS : OTHER;
        const record = { n: 100_000 * w + i, tag: `w${w}` };
        const [offset] = await producer.write([], [{ topic, record }], { durable: i % 3 === 0 });
        mine.push({ topic: topic.name, offset: offset!, n: record.n });
        if (random() < 0.3) await sleep(0);
      }
      return mine;
    }),
  );

  // Offsets handed back for the burst are consecutive per topic in call order.
  const expectedNext = new Map<string, number>([
    [EVENTS.name, 1],
    [OTHER.name, 1],
  ]);
  let inOrder = true;
  calls.forEach((c, i) => {
    c.topics.forEach((topic, j) => {
      const want = expectedNext.get(topic.name)!;
      if (results[i]![j] !== want) inOrder = false;
      expectedNext.set(topic.name, want + 1);
    });
  });
  t.ok(inOrder, 'burst offsets are 1, 2, 3… per topic in the order the writes were queued');

  for (const mine of writers) {
    const perTopic = new Map<string, number>();
    let increasing = true;
    for (const m of mine) {
      if (m.offset <= (perTopic.get(m.topic) ?? 0)) increasing = false;
      perTopic.set(m.topic, m.offset);
    }
    t.ok(increasing, 'a writer sees its own offsets increase per topic');
  }

  for (const topic of [EVENTS, OTHER]) {
    const log = await logOf(db, topic);
    const total = expectedNext.get(topic.name)! - 1 + writers.flat().filter((m) => m.topic === topic.name).length;
    t.same(
      log.map((r) => r.offset),
      range(1, total),
      `${topic.name}: offsets 1..${total} with no gap or duplicate`,
    );
    t.equal(producer.lastOffset(topic), total, `${topic.name}: lastOffset is the last committed offset`);
    // Each offset returned to a caller holds that caller's record.
    const byOffset = new Map(log.map((r) => [r.offset, r.record.n]));
    let match = true;
    calls.forEach((c, i) =>
      c.topics.forEach((tp, j) => {
        if (tp === topic && byOffset.get(results[i]![j]!) === undefined) match = false;
      }),
    );
    for (const m of writers.flat()) if (m.topic === topic.name && byOffset.get(m.offset) !== m.n) match = false;
    t.ok(match, `${topic.name}: every returned offset holds the record written with it`);
    // Burst records appear in the order they were queued.
    const burst = log.map((r) => r.record.n).filter((x) => x < 100_000);
    t.same(burst, [...burst].sort((a, b) => a - b), `${topic.name}: burst records are stored in queue order`);
  }

  // The next producer on this database continues after the last offset.
  await producer.close();
  const again = new LogProducer(db, TOPICS);
  await again.open();
  const [next] = await again.write([], [{ topic: EVENTS, record: { n: -1 } }]);
  t.equal(next, producer.lastOffset(EVENTS) + 1, 'a reopened producer continues the offsets');
  await again.close();
});

t.test('reads at the tail (served from memory) and further back (from the database) give the same records', async (t) => {
  const dir = tempDir(t);
  const db = await openDb(t, join(dir, 'p'));
  const producer = await openProducer(t, db);
  await producer.register({ topic: EVENTS.name, consumer: 'c' });
  const random = rng(0x7a11);

  // More records, and more bytes, than any in-memory tail keeps; one record alone larger than it.
  const written: Rec[] = [];
  for (let i = 1; i <= 1300; i++) {
    const record: Rec = { n: i, tag: i === 1250 ? 'x'.repeat(700 * 1024) : 'y'.repeat(Math.floor(random() * 2000)) };
    written.push(record);
    if (i % 7 === 0) await producer.write([], [{ topic: EVENTS, record }, { topic: OTHER, record: { n: -i } }], { durable: i % 2 === 0 });
    else await producer.write([], [{ topic: EVENTS, record }]);
    // What the writer does with its object afterwards is not what readers get.
    record.tag = `${record.tag}-changed`;
  }
  const stored = await logOf(db, EVENTS);
  t.equal(stored.length, 1300);
  t.ok(stored.every((r) => r.record.tag!.endsWith('-changed') === false), 'the database holds the records as written');

  for (const from of [1, 2, 500, 788, 789, 1000, 1249, 1250, 1251, 1299, 1300, 1301]) {
    for (const limit of [1, 3, 1000]) {
      const { records } = await producer.read(req({ from, limit }));
      t.same(records, stored.filter((r) => r.offset >= from).slice(0, limit), `from ${from}, limit ${limit}`);
    }
  }

  // A record without a field reads back without it, as from the database; readers each get their own copy.
  await producer.write([], [{ topic: EVENTS, record: { n: 1301, tag: undefined } }]);
  const [first] = (await producer.read(req({ from: 1301 }))).records;
  t.same(first, { offset: 1301, record: { n: 1301 } });
  t.notOk(Object.hasOwn(first!.record as object, 'tag'), 'an undefined field is not there');
  (first!.record as Rec).n = 99;
  t.equal(((await producer.read(req({ from: 1301 }))).records[0]!.record as Rec).n, 1301, 'a reader changing its copy changes nothing for the next');
});

t.test('a read for some kinds gets only those, from memory and from the database alike, and says how far it read', async (t) => {
  const dir = tempDir(t);
  const db = await openDb(t, join(dir, 'p'));
  const producer = await openProducer(t, db);
  // Registered first, so the producer keeps its in-memory tail (the newest 512) for this topic.
  await producer.register({ topic: KINDED.name, consumer: 'c' });
  const tagOf = (n: number) => (n % 50 === 0 ? 'leave' : n % 7 === 0 ? 'member' : undefined);
  for (let n = 1; n <= 1200; n++) {
    const tag = tagOf(n);
    await producer.write([], [{ topic: KINDED, record: tag ? { n, tag } : { n } }]);
  }
  const stored = await logOf(db, KINDED);
  for (const from of [1, 7, 8, 400, 688, 689, 700, 1150, 1196, 1200]) {
    for (const limit of [1, 5, 1000]) {
      const r = await producer.read(req({ topic: KINDED.name, from, limit, kinds: ['member', 'leave'] }));
      const expected = stored.filter((x) => x.offset >= from && x.record.tag !== undefined).slice(0, limit);
      t.same(r.records, expected, `from ${from}, limit ${limit}: the records of those kinds`);
      // Up to the last record given when the limit stopped it, else to the end.
      t.equal(r.through, expected.length === limit ? expected.at(-1)!.offset : 1200, `from ${from}, limit ${limit}: how far it read`);
    }
  }
  const leaves = await producer.read(req({ topic: KINDED.name, from: 1, kinds: ['leave'] }));
  t.same(leaves.records.map((r) => (r.record as Rec).n), range(1, 24).map((i) => i * 50), 'one kind alone');
  t.same(await producer.read(req({ topic: KINDED.name, from: 1201, kinds: ['leave'] })), { records: [] }, 'past the end: nothing, and nothing read');

  await producer.write([], [{ topic: EVENTS, record: { n: 1 } }]);
  const whole = await producer.read(req({ from: 1, kinds: ['member'] }));
  t.same(whole, { records: [{ offset: 1, record: { n: 1 } }] }, 'a topic without kinds is read whole');
});

t.test('a consumer of some kinds applies only those, and moves past the others: its offset, and what it lets be pruned', async (t) => {
  const dir = tempDir(t);
  const pdb = await openDb(t, join(dir, 'p'));
  const cdb = await openDb(t, join(dir, 'c'));
  const producer = await openProducer(t, pdb);
  const seen: LogRecord<Rec>[][] = [];
  const c = consumerFor(t, { topic: KINDED, name: 'k', db: cdb, reader: directReader(producer), handle: countingHandler(cdb, KINDED.name, seen), kinds: ['member'], waitMs: 100 });
  await c.start();
  for (let n = 1; n <= 30; n++) await producer.write([], [{ topic: KINDED, record: n % 10 === 0 ? { n, tag: 'member' } : { n } }]);
  await waitFor('the consumer to pass offset 30', () => c.offset === 30);
  t.same((await appliedOf(cdb, KINDED.name)).applied.map((a) => a.n), [10, 20, 30], 'only the members applied, in order');

  for (let n = 31; n <= 35; n++) await producer.write([], [{ topic: KINDED, record: { n } }]);
  await waitFor('the consumer to pass offset 35, which holds no member', () => c.offset === 35);
  t.ok(seen.length > 0 && seen.every((b) => b.length > 0), 'the handler is never handed an empty batch');
  t.equal(await cdb.get(encodeKey('logpos', 'roomserver', KINDED.name)), 35, 'the offset is stored past the others too');

  // Once its database has synced that offset, the consumer reports it: the producer prunes all but the newest.
  await waitFor('the passed-over records to be pruned', async () => {
    await producer.prune();
    return (await logOf(pdb, KINDED)).every((r) => r.offset === 35);
  });
  t.pass('nothing the consumer passed over is kept for it');
});

t.test('a record is committed in the same batch as its state change', async (t) => {
  const dir = tempDir(t);
  const db = await openDb(t, join(dir, 'p'));
  const producer = await openProducer(t, db);

  const [o1] = await producer.write([{ type: 'put', key: encodeKey('room', 'a'), value: 1 }], [{ topic: EVENTS, record: { n: 1 } }], { durable: true });
  t.equal(await db.get(encodeKey('room', 'a')), 1, 'state op written');
  t.same((await producer.read(req({ from: o1! }))).records, [{ offset: o1, record: { n: 1 } }], 'record readable once write resolved');

  // A state op that cannot be stored (JSON refuses a BigInt) fails the write: its record must not appear either.
  // A write queued with it (group-committed with it: a batch in flight makes both wait) is not affected.
  const inFlight = db.put(encodeKey('room', 'x'), 0);
  const bad = producer.write(
    [
      { type: 'put', key: encodeKey('room', 'b'), value: 2 },
      { type: 'put', key: encodeKey('room', 'c'), value: 1n },
    ],
    [{ topic: EVENTS, record: { n: 2 } }],
    { durable: true },
  );
  const neighbour = producer.write([{ type: 'put', key: encodeKey('room', 'n'), value: 3 }], [{ topic: EVENTS, record: { n: 3 } }], { durable: true });
  await inFlight;
  await t.rejects(bad, 'the write fails');
  const [o3] = await neighbour;
  t.equal(await db.get(encodeKey('room', 'b')), undefined, 'no state from the failed write');
  t.same(
    (await logOf(db, EVENTS)).map((r) => r.record.n),
    [1, 3],
    'no record from the failed write; the neighbour\'s record is there',
  );
  t.equal(await db.get(encodeKey('room', 'n')), 3, 'and so is the neighbour\'s state');
  t.same(
    (await producer.read(req({ from: 1 }))).records.map((r) => (r.record as Rec).n),
    [1, 3],
    'readers see the neighbour\'s record, not the failed one',
  );
  t.ok(o3! > o1!, 'the neighbour\'s offset follows the earlier record\'s');

  // And a record that cannot be stored leaves the state untouched.
  const bad2 = producer.write([{ type: 'put', key: encodeKey('room', 'd'), value: 4 }], [{ topic: EVENTS, record: { n: 1n } as unknown as Rec }]);
  await t.rejects(bad2, 'a write with an unstorable record fails');
  t.equal(await db.get(encodeKey('room', 'd')), undefined, 'its state op is not written either');

  // After a reopen (what a restart sees), state and log still agree.
  const [o5] = await producer.write([{ type: 'put', key: encodeKey('room', 'e'), value: 5 }], [{ topic: EVENTS, record: { n: 5 } }], { durable: true });
  t.equal(o5, o3! + 1, 'the unstorable record took no offset: the next one follows the neighbour\'s');
  await producer.close();
  await db.close();
  const db2 = await openDb(t, join(dir, 'p'));
  const p2 = await openProducer(t, db2);
  t.equal(await db2.get(encodeKey('room', 'e')), 5, 'state survives reopen');
  t.same(
    (await logOf(db2, EVENTS)).map((r) => r.record.n),
    [1, 3, 5],
    'records survive reopen, the failed ones are absent',
  );
  t.equal(p2.lastOffset(EVENTS), o5, 'the reopened producer knows the last offset');
  const [o6] = await p2.write([], [{ topic: EVENTS, record: { n: 6 } }]);
  t.ok(o6! > o5!, 'and never reuses a committed offset');
});

t.test('a consumer resumes from its stored offset: nothing re-applied, nothing skipped', async (t) => {
  const dir = tempDir(t);
  const pdb = await openDb(t, join(dir, 'p'));
  const cdb = await openDb(t, join(dir, 'c'));
  const producer = await openProducer(t, pdb);
  const direct = directReader(producer);
  // Counts reads, and lets timers run between them: a consumer that stopped
  // long-polling would otherwise starve the event loop and hang this test.
  let reads = 0;
  const reader: Client<LogReaderAPI> = {
    read: async (r, o) => {
      reads++;
      await new Promise((resolve) => setImmediate(resolve));
      return direct.read(r, o);
    },
    register: (r, o) => direct.register(r, o),
    head: (r, o) => direct.head(r, o),
  };
  let n = 0;
  const produce = async (count: number) => {
    for (let i = 0; i < count; i++) await producer.write([], [{ topic: EVENTS, record: { n: ++n } }], { durable: i % 2 === 0 });
  };
  const seen: LogRecord<Rec>[][] = [];
  const make = () =>
    consumerFor(t, { topic: EVENTS, name: 'syncapi', db: cdb, reader, handle: countingHandler(cdb, EVENTS.name, seen), batchSize: 7, waitMs: 5_000 });
  const idleReads = async () => {
    reads = 0;
    await sleep(300);
    return reads;
  };

  await produce(50);
  const c1 = make();
  await c1.start();
  await waitFor('first consumer to apply 50', () => c1.offset === 50);
  const idle1 = await idleReads();
  t.ok(idle1 <= 2, `an idle consumer waits in its long-poll (${idle1} reads in 300 ms)`);
  await c1.stop();
  t.equal(c1.offset, 50, 'first run applied up to 50');

  await produce(30);
  // A new instance (what a restarted process makes) starts from the stored offset.
  const c2 = make();
  await c2.start();
  t.equal(c2.offset, 50, 'a new consumer starts at the stored offset');
  await waitFor('second consumer to apply 80', () => c2.offset === 80);

  // Stopping during a long-poll returns without waiting the poll out.
  const stopped = c2.stop().then(() => 'stopped');
  t.equal(await Promise.race([stopped, sleep(4_000).then(() => 'still waiting')]), 'stopped', 'stop() ends a pending long-poll');

  // The same instance started again resumes too, and long-polls again.
  await produce(20);
  await c2.start();
  await waitFor('restarted consumer to apply 100', () => c2.offset === 100);
  const idle2 = await idleReads();
  t.ok(idle2 <= 2, `after stop() and start() it still long-polls (${idle2} reads in 300 ms)`);
  await produce(2);
  await waitFor('restarted consumer to apply 102', () => c2.offset === 102);
  await c2.stop();

  const { count, applied } = await appliedOf(cdb, EVENTS.name);
  t.equal(count, 102, 'counter equals the number of records');
  t.same(
    applied.map((a) => a.offset),
    range(1, 102),
    'each offset applied exactly once, in order',
  );
  t.same(
    applied.map((a) => a.n),
    range(1, 102),
    'with the right records',
  );
  t.equal(await cdb.get(encodeKey('logpos', 'roomserver', EVENTS.name)), 102, 'stored position is the last applied offset');
  t.ok(
    seen.every((b) => b.every((r, i) => i === 0 || r.offset === b[i - 1]!.offset + 1)),
    'every batch handed to the handler is contiguous',
  );
});

t.test('pauseMs: records that arrive during the pause come in one batch; stop() ends a pause', async (t) => {
  const dir = tempDir(t);
  const pdb = await openDb(t, join(dir, 'p'));
  const cdb = await openDb(t, join(dir, 'c'));
  const producer = await openProducer(t, pdb);
  const seen: LogRecord<Rec>[][] = [];
  const c = consumerFor(t, { topic: EVENTS, name: 'eduserver', db: cdb, reader: directReader(producer), handle: countingHandler(cdb, EVENTS.name, seen), waitMs: 5_000, pauseMs: 2_000 });
  await c.start();
  await producer.write([], [{ topic: EVENTS, record: { n: 1 } }], { durable: false });
  await waitFor('the first record', () => c.offset === 1);
  // During the pause that follows: twenty records, one write at a time (without a pause, most would be a batch each).
  for (let n = 2; n <= 21; n++) await producer.write([], [{ topic: EVENTS, record: { n } }], { durable: false });
  await waitFor('all 21', () => c.offset === 21);
  t.same(seen.map((b) => b.length), [1, 20], 'the first alone, then the twenty written during the pause in one batch');
  await producer.write([], [{ topic: EVENTS, record: { n: 22 } }], { durable: false });
  const stopped = c.stop().then(() => 'stopped');
  t.equal(await Promise.race([stopped, sleep(1_000).then(() => 'still pausing')]), 'stopped', 'stop() does not wait a pause out');
  t.same((await appliedOf(cdb, EVENTS.name)).applied.map((a) => a.n).slice(0, 21), range(1, 21), 'each applied once, in order');
});

t.test('caughtUp: resolves once what the producer had committed is applied (and handed to afterCommit)', async (t) => {
  const dir = tempDir(t);
  const pdb = await openDb(t, join(dir, 'p'));
  const cdb = await openDb(t, join(dir, 'c'));
  const producer = await openProducer(t, pdb);
  const counting = countingHandler(cdb, EVENTS.name);
  let gate: (() => void) | undefined;
  let held = false;
  const announced: number[] = [];
  const c = consumerFor(t, {
    topic: EVENTS,
    name: 'syncapi',
    db: cdb,
    reader: directReader(producer),
    // Holds a batch while `held`: the consumer is behind for as long as the test wants.
    handle: async (batch) => {
      if (held) await new Promise<void>((r) => (gate = r));
      return counting(batch);
    },
    afterCommit: (batch) => announced.push(batch[batch.length - 1]!.offset),
    waitMs: 5_000,
  });
  await c.start();
  t.equal(await c.caughtUp(1_000), true, 'nothing written: caught up at once');
  held = true;
  for (let n = 1; n <= 3; n++) await producer.write([], [{ topic: EVENTS, record: { n } }]);
  await waitFor('the consumer to hold a batch', () => gate !== undefined);
  t.equal(await c.caughtUp(150), false, 'behind, and still held after the timeout: false');
  held = false;
  const waiting = c.caughtUp(5_000);
  await producer.write([], [{ topic: EVENTS, record: { n: 4 } }]);
  gate!();
  t.equal(await waiting, true, 'released: caught up');
  t.ok(c.offset >= 3 && announced.at(-1)! >= 3, 'with everything committed before the call applied and announced');
  const stopped = new LogConsumer<Rec>({ topic: EVENTS, name: 'other', db: cdb, reader: { read: async () => ({ records: [] }), register: async () => {}, head: async () => { throw new Error('down'); } }, handle: counting });
  t.equal(await stopped.caughtUp(1_000), false, 'a producer that cannot be asked: false, at once');
});

t.test('long-poll returns as soon as a record is committed, and empty after waitMs', async (t) => {
  const dir = tempDir(t);
  const db = await openDb(t, join(dir, 'p'));
  const producer = await openProducer(t, db);
  await producer.write([], [{ topic: EVENTS, record: { n: 1 } }]);

  const immediate = await producer.read(req({ from: 1, waitMs: 10_000 }));
  t.same(immediate.records, [{ offset: 1, record: { n: 1 } }], 'a committed record is returned without waiting');

  let done = false;
  const started = Date.now();
  const pending = producer.read(req({ from: 2, waitMs: 20_000 })).then((r) => {
    done = true;
    return r;
  });
  await sleep(100);
  t.notOk(done, 'no record yet: the read waits');
  await producer.write([], [{ topic: OTHER, record: { n: 99 } }]);
  await sleep(50);
  t.notOk(done, 'a record on another topic does not end the wait');
  await producer.write([], [{ topic: EVENTS, record: { n: 2 } }]);
  const got = await pending;
  t.same(got.records, [{ offset: 2, record: { n: 2 } }], 'the read returns the new record');
  t.ok(Date.now() - started < 20_000, 'before its waitMs ran out');

  // Waiting for a later offset: an earlier one does not end the wait.
  let done3 = false;
  const far = producer.read(req({ from: 4, waitMs: 20_000 })).then((r) => {
    done3 = true;
    return r;
  });
  await producer.write([], [{ topic: EVENTS, record: { n: 3 } }]);
  await sleep(50);
  t.notOk(done3, 'offset 3 does not answer a read from 4');
  await producer.write([], [{ topic: EVENTS, record: { n: 4 } }, { topic: EVENTS, record: { n: 5 } }]);
  t.same((await far).records.map((r) => r.offset), [4, 5], 'offsets 4 and 5 do, both returned');

  const t0 = Date.now();
  const empty = await producer.read(req({ from: 6, waitMs: 250 }));
  const waited = Date.now() - t0;
  t.same(empty.records, [], 'nothing written: empty');
  t.ok(waited >= 240, `after waiting about waitMs (${waited} ms)`);

  // A cancelled long-poll ends early, empty.
  const ac = new AbortController();
  const cancelled = producer.read(req({ from: 6, waitMs: 20_000 }), { signal: ac.signal, deadline: Date.now() + 30_000 });
  setTimeout(() => ac.abort(), 50);
  t.same((await cancelled).records, [], 'an aborted long-poll returns empty');

  // A limit caps the batch, and a read past the end with waitMs 0 does not wait.
  await producer.write([], range(6, 20).map((n) => ({ topic: EVENTS, record: { n } })));
  t.same((await producer.read(req({ from: 3, limit: 4 }))).records.map((r) => r.offset), [3, 4, 5, 6], 'limit respected');
  t.same((await producer.read(req({ from: 21 }))).records, [], 'past the end, no wait: empty');

  // Closing the producer releases its long-polls.
  const atClose = producer.read(req({ from: 21, waitMs: 20_000 }));
  await producer.close();
  t.same((await atClose).records, [], 'close() ends pending long-polls');
});

t.test('a failing handler is retried: nothing skipped, nothing committed twice', async (t) => {
  const dir = tempDir(t);
  const pdb = await openDb(t, join(dir, 'p'));
  const cdb = await openDb(t, join(dir, 'c'));
  const producer = await openProducer(t, pdb);
  for (let i = 1; i <= 30; i++) await producer.write([], [{ topic: EVENTS, record: { n: i } }]);

  const inner = countingHandler(cdb, EVENTS.name);
  const attempts = new Map<number, number>();
  const handle = async (batch: LogRecord<Rec>[]): Promise<WriteOp[]> => {
    const first = batch[0]!.offset;
    const k = (attempts.get(first) ?? 0) + 1;
    attempts.set(first, k);
    const ops = await inner(batch);
    // The batch holding 7 throws twice after computing its effect.
    if (batch.some((r) => r.offset === 7) && k <= 2) throw new Error('handler failure (test)');
    // The batch holding 13 returns a write that cannot be stored, once: the commit itself fails.
    if (batch.some((r) => r.offset === 13) && k === 1) return [...ops, { type: 'put', key: 'bad', value: 1n }];
    return ops;
  };
  const consumer = consumerFor(t, { topic: EVENTS, name: 'syncapi', db: cdb, reader: directReader(producer), handle, batchSize: 5, waitMs: 2_000 });
  await consumer.start();
  await waitFor('consumer to apply 30', () => consumer.offset === 30);
  await consumer.stop();

  const failedFirst = [...attempts].find(([first]) => first <= 7 && first + 5 > 7)!;
  t.equal(failedFirst[1], 3, 'the batch with offset 7 was handled three times (two failures, one success)');
  const commitFailed = [...attempts].find(([first]) => first <= 13 && first + 5 > 13)!;
  t.equal(commitFailed[1], 2, 'the batch whose commit failed was handled again');
  const { count, applied } = await appliedOf(cdb, EVENTS.name);
  t.equal(count, 30, 'counter counts each record once');
  t.same(
    applied.map((a) => a.offset),
    range(1, 30),
    'applied once each, in order, none skipped',
  );
  t.equal(await cdb.get('bad'), undefined, 'nothing from the failed commit');
});

t.test('pruning deletes only what every registered consumer has applied durably', async (t) => {
  const dir = tempDir(t);
  const db = await openDb(t, join(dir, 'p'));
  let producer = await openProducer(t, db);
  for (let i = 1; i <= 10; i++) await producer.write([], [{ topic: EVENTS, record: { n: i } }, { topic: OTHER, record: { n: i } }]);
  const offsets = async (topic = EVENTS) => (await logOf(db, topic)).map((r) => r.offset);

  t.equal(await producer.prune(), 0, 'no registered consumer: nothing pruned');
  t.same(await offsets(), range(1, 10), 'no registered consumer: every record kept');

  await producer.register({ topic: EVENTS.name, consumer: 'a' });
  await producer.register({ topic: EVENTS.name, consumer: 'b' });
  await producer.read(req({ consumer: 'a', from: 11, durable: 10 }));
  t.equal(await producer.prune(), 0, 'b has acknowledged nothing: nothing pruned');
  t.same(await offsets(), range(1, 10), 'while b lags, every record kept');

  await producer.read(req({ consumer: 'b', from: 5, durable: 4 }));
  await producer.prune();
  t.same(await offsets(), range(5, 10), 'b acknowledged 4: exactly 1..4 pruned');
  t.same(await offsets(OTHER), range(1, 10), 'the other topic (no consumer) keeps everything');

  // An acknowledgement never goes backwards.
  await producer.read(req({ consumer: 'b', from: 5, durable: 2 }));
  await producer.read(req({ consumer: 'a', from: 11, durable: 3 }));
  t.equal(await producer.prune(), 0, 'lower reports change nothing');

  // Acknowledgements survive a restart of the producer.
  await producer.close();
  producer = await openProducer(t, db);
  await producer.register({ topic: EVENTS.name, consumer: 'a' });
  t.equal(await producer.prune(), 0, 'after a restart, nothing more is pruned');
  await producer.read(req({ consumer: 'b', from: 9, durable: 8 }));
  await producer.prune();
  t.same(await offsets(), range(9, 10), 'b acknowledged 8: 5..8 pruned, 9 and 10 kept');

  // A newly registered consumer holds pruning back from then on.
  await producer.register({ topic: EVENTS.name, consumer: 'c' });
  await producer.read(req({ consumer: 'a', from: 11, durable: 10 }));
  await producer.read(req({ consumer: 'b', from: 11, durable: 10 }));
  await producer.prune();
  t.same(await offsets(), range(9, 10), 'c has acknowledged nothing: 9 and 10 kept');

  // Everything acknowledged by everyone: after a restart the offsets still continue.
  await producer.read(req({ consumer: 'c', from: 11, durable: 10 }));
  await producer.prune();
  t.notOk((await offsets()).some((o) => o < 10), 'everything below the newest acknowledged record pruned');
  await producer.close();
  producer = await openProducer(t, db);
  t.equal(producer.lastOffset(EVENTS), 10, 'a restarted producer still knows offset 10 was used');
  const [next] = await producer.write([], [{ topic: EVENTS, record: { n: 11 } }]);
  t.equal(next, 11, 'the next record gets offset 11, not an offset consumers already passed');
  const r = await producer.read(req({ consumer: 'a', from: 11 }));
  t.same(r.records, [{ offset: 11, record: { n: 11 } }], 'a consumer at 10 reads the new record');
});

t.test('a consumer reports an offset durable only once its database has synced it', async (t) => {
  const dir = tempDir(t);
  const pdb = await openDb(t, join(dir, 'p'));
  // Background sync far away: only whenSynced() syncs the consumer's writes.
  const cdb = await openDb(t, join(dir, 'c'), { backgroundSyncMs: 600_000 });
  const producer = await openProducer(t, pdb);
  const reports: number[] = [];
  const reader = directReader(producer);
  const spy: Client<LogReaderAPI> = {
    read: (r, o) => {
      reports.push(r.durable);
      return reader.read(r, o);
    },
    register: (r, o) => reader.register(r, o),
    head: (r, o) => reader.head(r, o),
  };
  for (let i = 1; i <= 20; i++) await producer.write([], [{ topic: EVENTS, record: { n: i } }]);
  const consumer = consumerFor(t, { topic: EVENTS, name: 'syncapi', db: cdb, reader: spy, handle: countingHandler(cdb, EVENTS.name), batchSize: 5, waitMs: 300 });
  await consumer.start();
  await waitFor('consumer to apply 20', () => consumer.offset === 20);
  await sleep(400); // at least one more (empty) read
  t.same([...new Set(reports)], [0], 'applied but not synced: reports durable 0');
  await producer.prune();
  t.same((await logOf(pdb, EVENTS)).length, 20, 'so nothing is pruned');

  await cdb.whenSynced();
  await waitFor('a read reporting 20', () => reports.at(-1) === 20, 5_000);
  await producer.prune();
  t.same(
    (await logOf(pdb, EVENTS)).map((r) => r.offset),
    [20],
    'synced: records below the newest pruned',
  );
  await consumer.stop();
});

t.test('a write counts as synced (what a consumer reports durable) only once its sync has finished', async (t) => {
  const dir = tempDir(t);
  const db = await openDb(t, join(dir, 'c'), { backgroundSyncMs: 10 });
  // A slow disk: the database's sync write (a LevelDB put with sync) takes 300 ms.
  const level = (db as unknown as { db: { put: (...a: unknown[]) => Promise<void> } }).db;
  const put = level.put.bind(level);
  let syncsFinished = 0;
  level.put = async (...a: unknown[]) => {
    await sleep(300);
    await put(...a);
    syncsFinished++;
  };
  await db.put(encodeKey('logpos', 'roomserver', EVENTS.name), 5);
  const seq = db.lastCommittedSeq;
  await sleep(60); // the background sync is under way
  let resolved = false;
  const synced = db.whenSynced().then(() => (resolved = true));
  await sleep(20);
  t.notOk(resolved, 'whenSynced() waits for the sync under way');
  t.ok(db.lastSyncedSeq < seq, 'and the write is not counted synced before that sync finishes');
  await synced;
  t.equal(syncsFinished, 1, 'whenSynced() resolved once the sync write had finished');
  t.ok(db.lastSyncedSeq >= seq, 'the write is counted synced then');
  level.put = put;
});

t.test('startPruning prunes on a timer', async (t) => {
  const dir = tempDir(t);
  const db = await openDb(t, join(dir, 'p'));
  const producer = await openProducer(t, db);
  for (let i = 1; i <= 10; i++) await producer.write([], [{ topic: EVENTS, record: { n: i } }]);
  await producer.register({ topic: EVENTS.name, consumer: 'a' });
  await producer.read(req({ consumer: 'a', from: 7, durable: 6 }));
  producer.startPruning(30);
  await waitFor('pruning to run', async () => (await logOf(db, EVENTS))[0]?.offset === 7, 5_000);
  t.same(
    (await logOf(db, EVENTS)).map((r) => r.offset),
    range(7, 10),
    'records up to the acknowledged offset pruned, the rest kept',
  );
  await producer.close();
});

t.test('reading over a Unix socket gives the same results as a direct call', async (t) => {
  const dir = tempDir(t);
  const sock = join(dir, 'p.sock');
  const pdb = await openDb(t, join(dir, 'p'));
  const producer = await openProducer(t, pdb);
  const ipc = new IpcServer();
  const serverApis = new ApiDirectory({ socketFor: () => undefined }, ipc);
  serverApis.provide(logReaderApi('roomserver'), producer);
  const server: Server = createServer((rq, rs) => ipc.handle(rq, rs));
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const remoteApis = new ApiDirectory({ socketFor: () => sock });
  t.teardown(() => remoteApis.close());
  const remote = remoteApis.get(logReaderApi('roomserver'));
  const direct = serverApis.get(logReaderApi('roomserver'));

  for (let i = 1; i <= 40; i++) {
    await producer.write([], [{ topic: i % 3 === 0 ? OTHER : EVENTS, record: { n: i, tag: `r\u00e9cord "${i}"\n` } }], { durable: i % 2 === 0 });
  }
  await remote.register({ topic: EVENTS.name, consumer: 'remote' });
  await direct.register({ topic: EVENTS.name, consumer: 'direct' });
  const requests: ReadRequest[] = [
    req({ from: 1 }),
    req({ from: 5, limit: 3 }),
    req({ topic: OTHER.name, from: 2, limit: 100 }),
    req({ from: 27 }),
    req({ from: 28 }),
    req({ from: 100 }),
  ];
  for (const r of requests) {
    const viaSocket = await remote.read({ ...r, consumer: 'remote' });
    const viaCall = await direct.read({ ...r, consumer: 'direct' });
    t.same(viaSocket, viaCall, `read ${JSON.stringify({ topic: r.topic, from: r.from, limit: r.limit })}: same over the socket`);
  }
  // Acknowledgements sent over the socket count for pruning just the same.
  await remote.read(req({ consumer: 'remote', from: 11, durable: 10 }));
  await direct.read(req({ consumer: 'direct', from: 11, durable: 10 }));
  await producer.prune();
  const afterPrune = [await remote.read(req({ consumer: 'remote', from: 1 })), await direct.read(req({ consumer: 'direct', from: 1 }))];
  t.same(afterPrune[0], afterPrune[1], 'after pruning: same over the socket');
  t.equal(afterPrune[0]!.records[0]?.offset, 11, 'and both start after the pruned records');

  // Unknown topic: both fail.
  await t.rejects(remote.read(req({ topic: 'nope' })), /not produced here/, 'unknown topic fails over the socket');
  await t.rejects(direct.read(req({ topic: 'nope' })), /not produced here/, 'unknown topic fails directly');

  // Long-poll over the socket wakes on a commit.
  const last = producer.lastOffset(EVENTS);
  let woke = false;
  const polled = remote.read(req({ consumer: 'remote', from: last + 1, waitMs: 20_000 })).then((r) => {
    woke = true;
    return r;
  });
  await sleep(150);
  t.notOk(woke, 'socket long-poll waits');
  await producer.write([], [{ topic: EVENTS, record: { n: 1000 } }]);
  t.same((await polled).records, [{ offset: last + 1, record: { n: 1000 } }], 'socket long-poll returns the new record');

  // A consumer in "another process" (socket reader) applies everything once, across a restart of the same instance.
  const cdb = await openDb(t, join(dir, 'c'));
  const consumer = consumerFor(t, { topic: EVENTS, name: 'remote', db: cdb, reader: remote, handle: countingHandler(cdb, EVENTS.name), batchSize: 4, waitMs: 2_000 });
  // Offsets 1..10 are pruned; the consumer starts past them as a consumer that had applied them would.
  await cdb.put(encodeKey('logpos', 'roomserver', EVENTS.name), 10);
  await consumer.start();
  await waitFor('socket consumer to catch up', () => consumer.offset === producer.lastOffset(EVENTS));
  await consumer.stop();
  for (let i = 0; i < 5; i++) await producer.write([], [{ topic: EVENTS, record: { n: 2000 + i } }]);
  await consumer.start();
  await waitFor('socket consumer, restarted, to catch up', () => consumer.offset === producer.lastOffset(EVENTS), 8_000);
  await consumer.stop();
  const { count, applied } = await appliedOf(cdb, EVENTS.name);
  const expected = (await logOf(pdb, EVENTS)).filter((r) => r.offset > 10);
  t.equal(count, expected.length, 'counter equals the records after the start position');
  t.same(
    applied,
    expected.map((r) => ({ offset: r.offset, n: r.record.n })),
    'applied exactly the log, in order, once',
  );
});

t.test('after an unclean stop, new records start past a gap; after a clean one, right after the last', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { Database } = await import('../../src/platform/storage/database.js');
  const { LogProducer } = await import('../../src/platform/log/producer.js');
  const { defineTopic } = await import('../../src/platform/log/topic.js');
  const dir = mkdtempSync(join(tmpdir(), 'nt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const topic = defineTopic<number>('roomserver', 'gap');
  const open = async () => {
    const db = await Database.open(join(dir, 'p'));
    const p = new LogProducer(db, [topic]);
    await p.open();
    return { db, p };
  };
  let { db, p } = await open();
  t.same(await p.write([], [{ topic, record: 1 }]), [1], 'a new log starts at 1');
  await p.close();
  await db.close();
  ({ db, p } = await open());
  t.same(await p.write([], [{ topic, record: 2 }]), [2], 'a clean stop continues right after');
  // No close(): as if the process had been killed.
  await db.close();
  ({ db, p } = await open());
  const [offset] = await p.write([], [{ topic, record: 3 }]);
  t.ok(offset! > 2 + 1000, `an unclean stop leaves a gap (${offset})`);
  const { records } = await p.read({ topic: 'gap', consumer: 'c', from: 3, limit: 10, waitMs: 0, durable: 0 });
  t.same(records.map((r) => r.record), [3], 'a reader past the old end finds the new record');
  await p.close();
  await db.close();
});

t.test('pruning within a run deletes by offset without reading the log, and never across an unclean stop\'s gap', async (t) => {
  const dir = tempDir(t);
  let db = await Database.open(join(dir, 'p'));
  let producer = new LogProducer(db, TOPICS);
  await producer.open();
  await producer.register({ topic: EVENTS.name, consumer: 'a' });
  for (let i = 1; i <= 30; i++) await producer.write([], [{ topic: EVENTS, record: { n: i } }]);
  const offsets = async () => (await logOf(db, EVENTS)).map((r) => r.offset);
  // Counts the reads of the log's keys that pruning makes.
  let keyReads = 0;
  const watch = (d: Database) => {
    const keys = d.keys.bind(d);
    d.keys = ((opts: Parameters<Database['keys']>[0]) => {
      keyReads++;
      return keys(opts);
    }) as Database['keys'];
  };
  watch(db);

  await producer.read(req({ consumer: 'a', from: 11, durable: 10 }));
  t.equal(await producer.prune(), 10, 'a new log: 1..10 pruned');
  await producer.read(req({ consumer: 'a', from: 26, durable: 25 }));
  t.equal(await producer.prune(), 15, 'then 11..25');
  t.same(await offsets(), range(26, 30), 'exactly what was acknowledged is gone');
  t.equal(keyReads, 0, 'without reading the log: every offset of this run is known');

  // Killed (no close): the next run starts past a gap.
  await db.close();
  db = await Database.open(join(dir, 'p'));
  t.teardown(() => db.close());
  producer = await openProducer(t, db);
  watch(db);
  const fresh: number[] = [];
  for (let i = 0; i < 5; i++) fresh.push(...(await producer.write([], [{ topic: EVENTS, record: { n: 100 + i } }])));
  t.ok(fresh[0]! > 30 + 1000, `the new run's offsets start past a gap (${fresh[0]})`);
  await producer.read(req({ consumer: 'a', from: fresh[2]!, durable: fresh[1]! }));
  t.equal(await producer.prune(), 7, "the run's first prune reads what is left from before it (26..30) and deletes it with the new run's first two");
  t.ok(keyReads > 0, 'that prune read the log');
  keyReads = 0;
  await producer.read(req({ consumer: 'a', from: fresh[4]! + 1, durable: fresh[4]! }));
  t.equal(await producer.prune(), 2, 'the next deletes the two records after those, not the gap (the newest is kept)');
  t.equal(keyReads, 0, 'without reading');
  t.same(await offsets(), [fresh[4]], 'only the newest record is left');
});
