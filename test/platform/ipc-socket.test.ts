/**
 * Internal calls over a Unix socket when the callee is not simply there: no
 * socket, a stale socket file, a callee killed mid-call and restarted, a
 * kept-alive connection dropped unread. What is retried and what is not;
 * and the caller's pool of connections.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { ApiDirectory } from '../../src/platform/ipc/directory.js';
import { IpcServer } from '../../src/platform/ipc/server.js';
import { createTestImpl, testApi } from '../fixtures/ipc/api.js';
import { Callee, isIpc, rejection, tempDir } from '../fixtures/ipc/harness.js';

t.test('unix socket: no callee at all', async (t) => {
  const dir = tempDir(t);
  const d = new ApiDirectory({ socketFor: () => join(dir, 'nobody.sock') });
  t.teardown(() => d.close());
  const api = d.get(testApi);
  for (const method of ['echo', 'increment'] as const) {
    const started = Date.now();
    const e = await rejection(api[method]({} as never, { timeoutMs: 900 }));
    const elapsed = Date.now() - started;
    isIpc(t, e, 'UNAVAILABLE', `${method} with no socket file`);
    t.ok(elapsed >= 600 && elapsed < 10_000, `${method}: retried until about the deadline (${elapsed} ms)`);
  }

  // A socket file nobody listens on (what a crashed process leaves): ECONNREFUSED, retried as well.
  const dead = await Callee.start(join(dir, 'stale.sock'), dir);
  await dead.kill();
  const d2 = new ApiDirectory({ socketFor: () => join(dir, 'stale.sock') });
  t.teardown(() => d2.close());
  const e = await rejection(d2.get(testApi).echo({}, { timeoutMs: 600 }));
  isIpc(t, e, 'UNAVAILABLE', 'a socket file with no listener');

  // The callee appears while a non-idempotent call is retrying: it runs once.
  const sock = join(dir, 'late.sock');
  const d3 = new ApiDirectory({ socketFor: () => sock });
  t.teardown(() => d3.close());
  const call = d3.get(testApi).increment({}, { timeoutMs: 20_000 });
  const callee = await Callee.start(sock, dir);
  t.teardown(() => callee.kill());
  t.equal(await call, 1, 'a call that was never delivered is retried until the callee is up');
  t.equal(await d3.get(testApi).count({}), 1);
});

/** A callee that hangs in increment/slowEcho; killed once the call has reached it, then restarted. */
async function killMidCall(
  t: Test,
  method: 'increment' | 'slowEcho',
  warm: boolean,
): Promise<{ outcome: unknown; count: number; rans: number }> {
  const dir = tempDir(t);
  const sock = join(dir, 'callee.sock');
  const first = await Callee.start(sock, dir, ['--hang']);
  t.teardown(() => first.kill());
  const d = new ApiDirectory({ socketFor: () => sock });
  t.teardown(() => d.close());
  const api = d.get(testApi);
  // A first call leaves a kept-alive connection that the next call reuses.
  if (warm) t.same(await api.echo('warm'), 'warm', 'a connection is kept alive');
  const call =
    method === 'increment' ? rejection(api.increment({}, { timeoutMs: 20_000 })) : api.slowEcho({ value: { across: 'restart' } }, { timeoutMs: 20_000 }).catch((e: unknown) => e);
  await first.waitFor(`ran ${method}`);
  await first.kill();
  const second = await Callee.start(sock, dir);
  t.teardown(() => second.kill());
  const outcome = await call;
  // Give a wrongly retried call time to land before counting.
  await new Promise((r) => setTimeout(r, 300));
  return { outcome, count: await api.count({}), rans: second.count(`ran ${method}`) };
}

t.test('unix socket: callee killed mid-call and restarted', async (t) => {
  for (const warm of [false, true]) {
    const how = warm ? 'on a reused kept-alive connection' : 'on a new connection';
    t.test(`idempotent call ${how}: retried, succeeds across the restart`, async (t) => {
      const { outcome, rans } = await killMidCall(t, 'slowEcho', warm);
      t.same(outcome, { across: 'restart' });
      t.equal(rans, 1, 'the restarted callee ran it');
    });
    t.test(`non-idempotent call ${how}, delivered before the callee died: not retried`, async (t) => {
      const { outcome, count, rans } = await killMidCall(t, 'increment', warm);
      isIpc(t, outcome, 'UNAVAILABLE', 'the call fails');
      t.equal(count, 1, 'the persisted counter was incremented exactly once');
      t.equal(rans, 0, 'the restarted callee never saw the call');
    });
  }
});

/**
 * A callee in this process (IpcServer behind node:http), counting the
 * connections it accepts and the calls it runs; `intercept` sees each
 * request first and answers true when it dealt with it.
 */
async function localCallee(t: Test, intercept: (req: IncomingMessage) => boolean = () => false) {
  const dir = tempDir(t);
  const sock = join(dir, 'local.sock');
  const ran: string[] = [];
  const ipc = new IpcServer();
  ipc.register(testApi, createTestImpl({ stateDir: dir, onCall: (m) => ran.push(m) }));
  let connections = 0;
  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (!intercept(req)) ipc.handle(req, res);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(sock, r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const d = new ApiDirectory({ socketFor: () => sock });
  t.teardown(() => d.close());
  return { api: d.get(testApi), ran, connections: () => connections };
}

t.test('unix socket: a kept-alive connection the callee dropped unread is retried, even when not idempotent', async (t) => {
  let dropNextReused = false;
  let dropped = 0;
  const { api } = await localCallee(t, (req) => {
    // The stale-connection race: the server closes a kept-alive connection as the next request arrives.
    const s = req.socket as unknown as { served?: boolean };
    if (dropNextReused && s.served) {
      dropNextReused = false;
      dropped++;
      req.socket.destroy();
      return true;
    }
    s.served = true;
    return false;
  });
  t.equal(await api.count({}), 0, 'a first call opens a kept-alive connection');
  dropNextReused = true;
  t.equal(await api.increment({}, { timeoutMs: 5000 }), 1, 'the call succeeds on a new connection');
  t.equal(dropped, 1, 'the first attempt was dropped unread');
  t.equal(await api.count({}), 1, 'and the call ran once');
});

t.test('unix socket: more calls at once than the pool has connections wait their turn', async (t) => {
  const { api, ran, connections } = await localCallee(t);
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => api.wait({ id: `w${i}`, ms: 150 }, { timeoutMs: 10_000 })));
  t.ok(results.every((r) => r.waited >= 100), 'all 100 calls answered');
  t.equal(ran.filter((m) => m === 'wait').length, 100, 'each ran once');
  t.equal(connections(), 64, 'on 64 connections at most');
  for (let i = 0; i < 5; i++) t.equal(await api.echo(i), i);
  t.equal(connections(), 64, 'later calls reuse a kept-alive connection');

  // A call still waiting for a connection when its deadline comes never reached the callee.
  const busy = Array.from({ length: 64 }, (_, i) => api.wait({ id: `b${i}`, ms: 1500 }, { timeoutMs: 10_000 }));
  const before = ran.filter((m) => m === 'increment').length;
  const e = await rejection(api.increment({}, { timeoutMs: 300 }));
  isIpc(t, e, 'UNAVAILABLE', 'no connection free before the deadline');
  await Promise.all(busy);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(ran.filter((m) => m === 'increment').length, before, 'and the call never ran');
  t.equal(await api.increment({}), 1, 'the next one runs once');
});

t.test('unix socket: kept-alive connections do not hold the caller process open', async (t) => {
  const { sock } = await (async () => {
    const dir = tempDir(t);
    const sock = join(dir, 'callee.sock');
    const callee = await Callee.start(sock, dir);
    t.teardown(() => callee.kill());
    return { sock };
  })();
  const code = `
    const { ApiDirectory } = await import(${JSON.stringify(new URL('../../src/platform/ipc/directory.ts', import.meta.url).href)});
    const { testApi } = await import(${JSON.stringify(new URL('../fixtures/ipc/api.ts', import.meta.url).href)});
    const d = new ApiDirectory({ socketFor: () => ${JSON.stringify(sock)} });
    console.log(JSON.stringify(await d.get(testApi).echo({ done: true })));
  `;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
  t.equal(out.signal, null, 'the caller exits by itself once its work is done');
  t.equal(out.status, 0, out.stderr);
  t.same(JSON.parse(out.stdout), { done: true });
});
