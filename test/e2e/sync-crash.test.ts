/**
 * Sync under crashes, on the built server in split mode:
 *
 * 1. SIGKILL of the whole process tree while clients send messages and
 *    to-device messages and a third syncs: after a restart every
 *    acknowledged event is in /messages exactly once and in each sender's
 *    order, the syncing client's old `since` token still works and its
 *    timeline holds every acknowledged event, and every acknowledged
 *    to-device message arrives.
 * 2. SIGKILL of the SyncAPI process alone, several times, under load:
 *    syncing clients get Matrix errors while it restarts, retry with the
 *    same token, and end with every acknowledged event exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import t, { type Test } from 'tap';
import { cli, initServer, NEURITE, removeDataDir, versionsAnswer, waitFor } from '../helpers/server.js';

const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
let rnd = seed;
const random = () => ((rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
t.comment(`seed ${seed} (replay with CRASH_SEED=${seed})`);

const { dataDir, ports } = await initServer({ mode: 'split', tls: 'off', extra: ['--registration', 'open', '--rate-limits', 'off'] });
t.teardown(() => removeDataDir(dataDir));
const BASE = `http://127.0.0.1:${ports.client}`;
const C = '/_matrix/client/v3';

/** `neurite start` in its own process group, so that the whole tree can be killed at once. */
async function start(): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [NEURITE, 'start', '--data-dir', dataDir], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, NEURITE_LOG_LEVEL: 'warn', NEURITE_STOP_ON_STDIN_CLOSE: '1' } });
  await waitFor('the client port', () => versionsAnswer(ports.client), 60_000);
  return proc;
}
let server = await start();
t.teardown(() => {
  try {
    process.kill(-server.pid!, 'SIGKILL');
  } catch {
    // gone already
  }
});

interface Res {
  status: number;
  body: any;
}

async function call(method: string, path: string, token?: string, body?: unknown, signal?: AbortSignal): Promise<Res> {
  const r = await fetch(BASE + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(signal ? { signal } : {}),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text, so the assertion says what came
  }
  return { status: r.status, body: parsed };
}

/** A call that retries while the server (re)starts: transport failures and 503s; other answers are returned. */
async function retrying(method: string, path: string, token?: string, body?: unknown): Promise<Res> {
  for (;;) {
    try {
      const r = await call(method, path, token, body);
      if (r.status !== 503) return r;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function register(username: string): Promise<{ user_id: string; access_token: string; device_id: string }> {
  const first = await call('POST', `${C}/register`, undefined, { username, password: `${username}-password` });
  const r = await call('POST', `${C}/register`, undefined, { username, password: `${username}-password`, auth: { type: 'm.login.dummy', session: first.body.session } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return r.body;
}

const alice = await register('alice');
const bob = await register('bob');
const carol = await register('carol');
const roomId = (await call('POST', `${C}/createRoom`, alice.access_token, { preset: 'public_chat', name: 'Crash' })).body.room_id as string;
for (const u of [bob, carol]) await call('POST', `${C}/rooms/${encodeURIComponent(roomId)}/join`, u.access_token, {});
const FILTER = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 500 } } }));

/** A client's sync loop: gathers timeline event ids, to-device contents and every non-200 answer. */
class Syncer {
  since: string | undefined;
  readonly events: string[] = [];
  readonly toDevice: unknown[] = [];
  readonly errors: Res[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(readonly user: { access_token: string }) {}

  async once(timeout = 0): Promise<void> {
    const r = await call('GET', `${C}/sync?filter=${FILTER}&timeout=${timeout}${this.since ? `&since=${this.since}` : ''}`, this.user.access_token);
    if (r.status !== 200) {
      this.errors.push(r);
      await new Promise((res) => setTimeout(res, 100));
      return;
    }
    const room = r.body.rooms.join[roomId];
    if (room) {
      // A limited timeline leaves a gap: fill it from /messages as a client does.
      if (room.timeline.limited && this.since) await this.fillGap(this.since, room.timeline.prev_batch);
      this.events.push(...room.timeline.events.map((e: any) => e.event_id));
    }
    this.toDevice.push(...r.body.to_device.events.map((e: any) => e.content));
    this.since = r.body.next_batch;
  }

  private async fillGap(from: string, to: string): Promise<void> {
    for (let f = from; ; ) {
      const r = await call('GET', `${C}/rooms/${encodeURIComponent(roomId)}/messages?dir=f&limit=100&from=${f}&to=${to}`, this.user.access_token);
      if (r.status !== 200) throw new Error(`gap: ${JSON.stringify(r.body)}`);
      this.events.push(...r.body.chunk.map((e: any) => e.event_id));
      if (!r.body.end) return;
      f = r.body.end;
    }
  }

  start(): void {
    this.stopped = false;
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.once(5000);
        } catch {
          // The server is down: try again.
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** Syncs until the timeline holds all of these, or several answers in a row bring nothing new. */
  async catchUp(ids: Iterable<string>): Promise<void> {
    const want = new Set(ids);
    for (let idle = 0; idle < 5; ) {
      const have = new Set(this.events);
      if ([...want].every((id) => have.has(id))) return;
      const before = this.events.length;
      try {
        await this.once(1000);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
      idle = this.events.length > before ? 0 : idle + 1;
    }
  }
}

/** Senders that send messages one after another; each keeps the ids the server acknowledged, in order. */
function senders(users: { access_token: string }[], stop: () => boolean, tag: string) {
  const acked: string[][] = users.map(() => []);
  const run = users.map(async (u, i) => {
    for (let n = 0; !stop(); n++) {
      try {
        const r = await call('PUT', `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${tag}-${i}-${n}`, u.access_token, { msgtype: 'm.text', body: `${tag} ${i} ${n}` });
        if (r.status === 200) acked[i]!.push(r.body.event_id);
        else await new Promise((res) => setTimeout(res, 50));
      } catch {
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  });
  return { acked, done: Promise.all(run) };
}

/** Every event of the room, oldest first, through /messages. */
async function history(token: string): Promise<string[]> {
  const out: string[] = [];
  for (let from: string | undefined; ; ) {
    const r = await retrying('GET', `${C}/rooms/${encodeURIComponent(roomId)}/messages?dir=f&limit=500${from ? `&from=${from}` : ''}`, token);
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    out.push(...r.body.chunk.map((e: any) => e.event_id));
    if (!r.body.end) return out;
    from = r.body.end;
  }
}

function checkOrder(t: Test, all: string[], acked: string[][], what: string): void {
  const index = new Map<string, number>();
  all.forEach((id, i) => index.set(id, i));
  const missing = acked.flat().filter((id) => !index.has(id));
  t.same(missing, [], `${what}: every acknowledged event is there (${acked.flat().length})`);
  const dupes = all.length - new Set(all).size;
  t.equal(dupes, 0, `${what}: no event twice`);
  for (const list of acked) {
    const positions = list.map((id) => index.get(id) ?? -1);
    t.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]!), `${what}: in the order the sender sent them`);
  }
}

t.test('SIGKILL of the whole tree mid-traffic, then a restart', async (t) => {
  const watcher = new Syncer(carol);
  await watcher.once();
  watcher.start();
  let stop = false;
  const load = senders([alice, bob], () => stop, 'a');
  // To-device messages from alice to carol's device, each acknowledged one numbered.
  const toDeviceAcked: number[] = [];
  const toDevice = (async () => {
    for (let n = 0; !stop; n++) {
      try {
        const r = await call('PUT', `${C}/sendToDevice/org.example.crash/td-${n}`, alice.access_token, { messages: { [carol.user_id]: { [carol.device_id]: { n } } } });
        if (r.status === 200) toDeviceAcked.push(n);
      } catch {
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  })();
  // Killed at a random point of the stream, counted in acknowledged messages rather than time (a busy machine sends fewer per second).
  const killAt = 25 + Math.floor(random() * 60);
  const until = Date.now() + 60_000;
  while (load.acked.flat().length < killAt && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  const tokenBefore = watcher.since;
  process.kill(-server.pid!, 'SIGKILL');
  stop = true;
  await Promise.all([load.done, toDevice]);
  await watcher.stop();
  t.comment(`${load.acked.flat().length} messages and ${toDeviceAcked.length} to-device messages acknowledged before the kill`);
  t.ok(load.acked.flat().length > 20, 'the load was real');

  server = await start();
  // The token from before the kill still works, and the timeline misses nothing.
  const r = await retrying('GET', `${C}/sync?filter=${FILTER}&since=${tokenBefore}`, carol.access_token);
  t.equal(r.status, 200, 'the old since token is answered');
  t.ok(r.body.next_batch, 'with a next_batch to go on from');
  await watcher.catchUp(load.acked.flat());
  const seen = new Set(watcher.events);
  t.same(load.acked.flat().filter((id) => !seen.has(id)), [], "the syncing client's timeline holds every acknowledged event");
  t.equal(watcher.events.length, seen.size, 'and none twice');
  // Once the SyncAPI has caught up with the log (the sync above says so), /messages has it all.
  checkOrder(t, await history(carol.access_token), load.acked, '/messages after the restart');
  // Every acknowledged to-device message reaches the device (before or after the kill).
  const got = () => new Set(watcher.toDevice.map((c: any) => c.n));
  for (let i = 0; i < 50 && !toDeviceAcked.every((n) => got().has(n)); i++) await watcher.once(1000);
  t.same(toDeviceAcked.filter((n) => !got().has(n)), [], 'no acknowledged to-device message is lost');
});

function syncapiPid(): number | undefined {
  const r = cli(['status', '--data-dir', dataDir, '--json']);
  if (r.status !== 0) return undefined;
  const p = JSON.parse(r.stdout).processes.find((x: { name: string }) => x.name === 'syncapi');
  return p?.state === 'running' ? p.pid : undefined;
}

t.test('SIGKILL of the SyncAPI alone under load: errors, retries, nothing missed', async (t) => {
  const watchers = [new Syncer(alice), new Syncer(bob), new Syncer(carol)];
  for (const w of watchers) {
    await w.once();
    w.start();
  }
  let stop = false;
  const load = senders([alice, bob, carol], () => stop, 'b');
  for (let k = 0; k < 3; k++) {
    await new Promise((r) => setTimeout(r, 300 + random() * 700));
    const pid = await waitFor('the syncapi process', async () => syncapiPid());
    process.kill(pid, 'SIGKILL');
    await waitFor('a new syncapi process', async () => {
      const p = syncapiPid();
      return p && p !== pid ? p : undefined;
    });
  }
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await load.done;
  for (const w of watchers) await w.stop();
  const acked = load.acked.flat();
  t.comment(`${acked.length} messages acknowledged; sync errors seen: ${watchers.map((w) => w.errors.length).join(', ')}`);
  const errors = watchers.flatMap((w) => w.errors);
  t.ok(errors.length > 0, 'clients saw the SyncAPI go away');
  t.ok(errors.every((e) => typeof e.body?.errcode === 'string' && e.status >= 500), `every failure was a Matrix error (${[...new Set(errors.map((e) => `${e.status} ${e.body?.errcode}`))].join(', ')})`);
  for (const w of watchers) {
    await w.catchUp(acked);
    const mine = w.events.filter((id) => acked.includes(id));
    t.same(acked.filter((id) => !mine.includes(id)), [], 'every acknowledged event reached this client');
    t.equal(mine.length, new Set(mine).size, 'exactly once');
  }
  checkOrder(t, await history(alice.access_token), load.acked, '/messages');
});
