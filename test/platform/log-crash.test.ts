/**
 * "Tests kill producer and consumer processes with SIGKILL at random moments
 * in a stream of thousands of records and prove: nothing acknowledged is
 * lost, nothing is applied twice, order per topic holds."
 *
 * A producer process (test/fixtures/log/producer.ts) writes two topics with
 * durable writes and prints an acknowledgement once each write resolved; a
 * consumer process (test/fixtures/log/consumer.ts) reads them over the
 * producer's Unix socket and applies them non-idempotently. Both are
 * SIGKILLed at random moments, many times, and restarted; pruning runs in
 * the producer all along. At the end the consumer catches up and both
 * databases are checked.
 *
 * Besides the test's own kills, children may SIGKILL themselves right after
 * queueing a write (test/fixtures/log/common.ts): moments an outside kill
 * rarely hits, such as between a consumer's handling and its commit.
 *
 * LOG_CRASH_SEED=<seed> (printed at the start) replays the same random
 * choices; timing still varies. LOG_CRASH_RECORDS sets records per topic.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Database } from '../../src/platform/storage/database.js';
import { decodeKey, encodeKey, prefixRange } from '../../src/platform/storage/keys.js';
import { consumerDbPath, producerDbPath, rng, TOPICS, type AppliedEntry, type CrashRecord } from '../fixtures/log/common.js';

const PER_TOPIC = Number(process.env.LOG_CRASH_RECORDS ?? 3000);
/** The producer's pace (all runs together): its writing spans about this much of the kill phase. */
const WRITING_MS = 30_000;
/** Killing stops after this long even if the producer has not finished; everything is still checked. */
const KILL_PHASE_MS = 35_000;
const MIN_KILLS = 8;

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/log/${name}.ts`, import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
type Kind = 'producer' | 'consumer';

const seed = process.env.LOG_CRASH_SEED ? Number(process.env.LOG_CRASH_SEED) : randomInt(2 ** 31);
const random = rng(seed);
t.comment(`seed ${seed} (replay with LOG_CRASH_SEED=${seed})`);

// Everything the processes told us.
const acks = new Map<string, Map<number, number>>(TOPICS.map((tp) => [tp.name, new Map()])); // topic → seq → offset
const durableReports = new Map<string, { at: bigint; offset: number }[]>(TOPICS.map((tp) => [tp.name, []]));
const lows = new Map<string, { at: bigint; upTo: number }[]>(TOPICS.map((tp) => [tp.name, []]));
const positions = new Map<string, number>(TOPICS.map((tp) => [tp.name, 0]));
const starts: { topic: string; pseq: number; lastSeq: number }[] = [];
const problems: string[] = []; // violations, errors, unexpected exits
let producerDone = false;
const maxAcked = new Map<string, number>(TOPICS.map((tp) => [tp.name, 0]));
/** Prunes that left only the newest record: a producer killed then restarts with nothing but it in its log. */
let emptied = 0;

class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  ready = false;
  opening = false;
  killedByTest = false;
  private stderr = '';
  private waiters: { cond: () => boolean; resolve: () => void }[] = [];

  constructor(
    readonly kind: Kind,
    args: string[],
  ) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', fixture(kind), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString()).slice(-4000);
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => this.onLine(line));
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') problems.push(`${kind} exited by itself (code ${code}, signal ${signal}): ${this.stderr}`);
        for (const w of this.waiters.splice(0)) w.resolve();
        resolve();
      });
    });
  }

  private onLine(line: string): void {
    const [word, a, b, c] = line.split(' ');
    switch (word) {
      case 'opening':
        this.opening = true;
        break;
      case 'ready':
        this.ready = true;
        break;
      case 'ack': {
        const seen = acks.get(a!)!;
        if (seen.has(Number(b))) problems.push(`seq ${b} of ${a} acknowledged twice`);
        seen.set(Number(b), Number(c));
        maxAcked.set(a!, Math.max(maxAcked.get(a!)!, Number(c)));
        break;
      }
      case 'start':
        starts.push({ topic: a!, pseq: Number(b), lastSeq: Number(c) });
        break;
      case 'done':
        producerDone = true;
        break;
      case 'low':
        lows.get(a!)!.push({ upTo: Number(b), at: BigInt(c!) });
        if (Number(b) >= maxAcked.get(a!)! - 1) emptied++;
        break;
      case 'durable':
        durableReports.get(a!)!.push({ offset: Number(b), at: BigInt(c!) });
        break;
      case 'pos':
        positions.set(a!, Math.max(positions.get(a!)!, Number(b)));
        break;
      default:
        problems.push(`${this.kind}: ${line}`);
    }
    this.waiters = this.waiters.filter((w) => !w.cond() || (w.resolve(), false));
  }

  /** Resolves once cond holds (checked after each line), or the process is gone. */
  when(cond: () => boolean): Promise<void> {
    if (cond() || this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ cond, resolve }));
  }

  whenReady(): Promise<void> {
    return this.when(() => this.ready);
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGKILLs it; true if it was still running. */
  async kill(): Promise<boolean> {
    this.killedByTest = true;
    const wasAlive = this.alive;
    this.proc.kill('SIGKILL');
    await this.exited;
    return wasAlive;
  }
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (problems.length > 0) return false; // already failing: do not wait it out
    if (Date.now() > end) {
      problems.push(`timed out waiting for ${what}`);
      return false;
    }
    await sleep(20);
  }
  return true;
}

t.test('SIGKILL at random moments: nothing acknowledged lost, nothing applied twice, order per topic kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'neurite-crash-'));
  const live = new Set<Child>();
  t.teardown(async () => {
    for (const c of live) await c.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const childSeed = () => String(Math.floor(random() * 2 ** 31));
  const kills = { producer: 0, consumer: 0, self: 0, beforeReady: 0, whileProducing: 0 };
  const procs = {} as Record<Kind, Child>;
  let chaos = true; // children started while this holds may also SIGKILL themselves (test/fixtures/log/common.ts)
  let finished = false;
  let schedule = ''; // set below: `<epoch ms>:<records per second>`
  const start = (kind: Kind): Child => {
    const flag = chaos ? '1' : '0';
    const c = new Child(kind, kind === 'producer' ? [dir, childSeed(), String(PER_TOPIC), schedule, flag] : [dir, childSeed(), flag]);
    live.add(c);
    procs[kind] = c;
    void c.exited.then(() => {
      live.delete(c);
      // It killed itself: count that, and start the next one as after any kill.
      if (!c.killedByTest && !finished && procs[kind] === c && c.proc.signalCode === 'SIGKILL') {
        kills[kind]++;
        kills.self++;
        if (kind === 'producer' && !producerDone) kills.whileProducing++;
        start(kind);
      }
    });
    return c;
  };
  const began = Date.now();
  schedule = `${began}:${((PER_TOPIC * TOPICS.length) / WRITING_MS) * 1000}`;

  start('producer');
  start('consumer');
  while (!producerDone && Date.now() - began < KILL_PHASE_MS && problems.length === 0) {
    const r = random();
    const victims: Kind[] = r < 0.4 ? ['producer'] : r < 0.8 ? ['consumer'] : ['producer', 'consumer'];
    if (random() < 0.15) {
      // A moment during its start: opening the database, recovering, registering.
      await Promise.all(
        victims.map((v) => {
          const c = procs[v];
          return c.when(() => c.opening);
        }),
      );
      await sleep(random() * 40);
    } else {
      // A moment while it runs.
      await Promise.all(victims.map((v) => procs[v].whenReady()));
      await sleep(random() * 1000);
    }
    for (const v of victims) {
      const c = procs[v];
      const producing = v === 'producer' && !producerDone;
      const ready = c.ready;
      if (await c.kill()) {
        kills[v]++;
        if (!ready) kills.beforeReady++;
        if (producing) kills.whileProducing++;
      }
    }
    await sleep(random() * 100);
    for (const v of victims) if (!procs[v].alive) start(v);
  }
  chaos = false;
  const killPhase = Date.now() - began;
  const ackedInKillPhase = [...acks.values()].reduce((n, m) => n + m.size, 0);
  if (!producerDone && problems.length === 0) {
    // Out of time (a slow machine): one last kill, and the rest written unpaced.
    if (await procs.producer.kill()) {
      kills.producer++;
      kills.whileProducing++;
    }
    schedule = `${began}:1000000`;
    start('producer');
  }

  // Let everything finish: the producer its writing, the consumer its catching up, pruning its pruning.
  await until('the producer to write every record', () => producerDone, 60_000);
  // The offset of each topic's last record, as acknowledged (offsets may jump after an unclean restart).
  const lastAcked = (topic: string) => Math.max(...acks.get(topic)!.values());
  await until('the consumer to catch up', () => TOPICS.every((tp) => positions.get(tp.name) === lastAcked(tp.name)), 30_000);
  await until('pruning to catch up', () => TOPICS.every((tp) => (lows.get(tp.name)!.at(-1)?.upTo ?? 0) >= lastAcked(tp.name) - 1), 15_000);
  finished = true;
  await procs.producer.kill();
  await procs.consumer.kill();

  t.same(problems, [], 'no process failed, reported a violation or timed out');
  t.ok(kills.producer >= MIN_KILLS && kills.consumer >= MIN_KILLS, `each process was killed at least ${MIN_KILLS} times`);
  t.ok(kills.whileProducing >= MIN_KILLS, `the producer was killed at least ${MIN_KILLS} times while writing`);

  // The processes are dead: read what they left on disk.
  const pdb = await Database.open(producerDbPath(dir));
  const cdb = await Database.open(consumerDbPath(dir));
  t.teardown(async () => {
    await pdb.close();
    await cdb.close();
  });

  t.ok(
    starts.every((s) => s.pseq === s.lastSeq),
    `after each of ${starts.length / TOPICS.length} producer starts, its state and its log agreed (state seq = seq of the last record)`,
  );

  let totalAcked = 0;
  let totalPruned = 0;
  for (const topic of TOPICS) {
    const name = topic.name;
    t.equal(await pdb.get(encodeKey('pseq', name)), PER_TOPIC, `${name}: the producer wrote ${PER_TOPIC} records`);

    // The consumer's applied list, in application order.
    const applied = (await cdb.entries<AppliedEntry>(prefixRange('applied', name))).map(([, v]) => v);
    const count = await cdb.get<number>(encodeKey('count', name));
    t.equal(count, PER_TOPIC, `${name}: counter = ${PER_TOPIC}, the number of distinct records`);
    t.equal(applied.length, PER_TOPIC, `${name}: ${PER_TOPIC} applications recorded`);
    t.equal(new Set(applied.map((a) => a.seq)).size, applied.length, `${name}: no record applied twice`);
    // Offsets only grow (an unclean producer restart skips ahead, so they may jump); records keep their order.
    const outOfOrder = applied.findIndex((a, i) => a.seq !== i + 1 || (i > 0 && a.offset <= applied[i - 1]!.offset));
    t.equal(
      outOfOrder,
      -1,
      outOfOrder === -1
        ? `${name}: applied seqs are 1..${PER_TOPIC} in order, at strictly increasing offsets`
        : `${name}: application ${outOfOrder + 1} was ${JSON.stringify(applied[outOfOrder])}, after ${JSON.stringify(applied[outOfOrder - 1])}`,
    );
    const [lastLog] = await pdb.keys({ ...prefixRange('log', name), reverse: true, limit: 1 });
    const lastOffset = Number(decodeKey(lastLog!).at(-1));
    t.equal(await cdb.get(encodeKey('logpos', 'roomserver', name)), lastOffset, `${name}: consumer position = last offset`);

    // Everything acknowledged was applied, with the offset it was acknowledged with.
    const topicAcks = acks.get(name)!;
    totalAcked += topicAcks.size;
    const appliedAt = new Map(applied.map((a) => [a.offset, a.seq]));
    const lost = [...topicAcks].filter(([seq, offset]) => appliedAt.get(offset) !== seq);
    t.same(lost.slice(0, 10), [], `${name}: all ${topicAcks.size} acknowledged records were applied at their offsets`);

    // What is left of the log: only the newest record, the rest pruned.
    const log = await pdb.entries<CrashRecord>(prefixRange('log', name));
    t.same(
      log.map(([, v]) => v.seq),
      [PER_TOPIC],
      `${name}: pruning removed all but the newest record once the consumer had everything`,
    );

    // Pruning never got ahead of what the consumer had reported durable (by the shared monotonic clock).
    const reports = durableReports.get(name)!;
    const early = lows.get(name)!.filter((low) => {
      let durable = 0;
      for (const d of reports) if (d.at < low.at && d.offset > durable) durable = d.offset;
      return low.upTo > durable;
    });
    t.same(early, [], `${name}: each of ${lows.get(name)!.length} prunes stayed at or below the consumer's durable offset`);
    totalPruned += lows.get(name)!.at(-1)?.upTo ?? 0;
  }

  const seconds = ((Date.now() - began) / 1000).toFixed(1);
  t.comment(
    `summary: ${PER_TOPIC * TOPICS.length} records (${totalAcked} acknowledged), ` +
      `kills: producer ${kills.producer} (${kills.whileProducing} while writing), consumer ${kills.consumer}; ${kills.self} of them self-inflicted mid-commit, ${kills.beforeReady} before ready; ` +
      `${ackedInKillPhase} acknowledged during the kill phase (${(killPhase / 1000).toFixed(1)} s); ${totalPruned} records pruned, ${emptied} times down to a topic's newest record; total ${seconds} s; seed ${seed}`,
  );
});
