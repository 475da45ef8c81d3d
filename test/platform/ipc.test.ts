/**
 * Internal APIs: one suite of behaviour run over both transports (a direct
 * call in this process, and HTTP over a Unix socket to a child process that
 * serves the implementation). What only a socket can do (a callee missing,
 * killed mid-call, restarted) is in ipc-socket.test.ts.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { MatrixError } from '../../src/core/errors.js';
import { ApiDirectory, type Client } from '../../src/platform/ipc/directory.js';
import { createTestImpl, testApi, type TestApi } from '../fixtures/ipc/api.js';
import { Callee, isIpc, rejection, tempDir, until } from '../fixtures/ipc/harness.js';

interface Transport {
  name: string;
  /** A client of the test API; with registerAfterMs the callee starts serving it only that much later. */
  make(t: Test, opts?: { registerAfterMs?: number }): Promise<Client<TestApi>>;
}

const direct: Transport = {
  name: 'direct',
  async make(t, opts = {}) {
    const dir = new ApiDirectory({ socketFor: () => undefined });
    t.teardown(() => dir.close());
    const impl = createTestImpl({ stateDir: tempDir(t) });
    if (opts.registerAfterMs) {
      const timer = setTimeout(() => dir.provide(testApi, impl), opts.registerAfterMs);
      t.teardown(() => clearTimeout(timer));
    } else dir.provide(testApi, impl);
    return dir.get(testApi);
  },
};

const socket: Transport = {
  name: 'unix socket',
  async make(t, opts = {}) {
    const dir = tempDir(t);
    const sock = join(dir, 'callee.sock');
    const callee = await Callee.start(sock, dir, opts.registerAfterMs ? ['--register-after', String(opts.registerAfterMs)] : []);
    t.teardown(() => callee.kill());
    const d = new ApiDirectory({ socketFor: () => sock });
    t.teardown(() => d.close());
    return d.get(testApi);
  },
};

for (const transport of [direct, socket]) {
  t.test(`${transport.name}: shared behaviour`, async (t) => {
    const api = await transport.make(t);

    t.test('results round-trip', async (t) => {
      const values: unknown[] = [
        { s: 'ünïcødé 😀 \u0000 "quoted"', n: -42, big: Number.MAX_SAFE_INTEGER, f: 0.5, t: true, nul: null, arr: [1, [2, [3]], { x: [] }] },
        'a string',
        0,
        false,
        null,
        [],
        {},
        { long: 'x'.repeat(2 * 1024 * 1024) },
      ];
      for (const v of values) t.same(await api.echo(v), v, `echo ${JSON.stringify(v).slice(0, 40)}`);
      t.equal(await api.echo(undefined), undefined, 'no argument, no result');
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => api.echo({ i })));
      t.same(many, Array.from({ length: 50 }, (_, i) => ({ i })), '50 concurrent calls each get their own answer');
    });

    t.test('a MatrixError arrives intact', async (t) => {
      const e = await rejection(api.fail({ kind: 'matrix' }));
      t.type(e, MatrixError);
      const m = e as MatrixError;
      t.equal(m.status, 403);
      t.equal(m.errcode, 'M_FORBIDDEN');
      t.equal(m.message, 'You may not');
      t.same(m.extra, { reason: 'tests', nested: { n: 1, list: ['a'] } });
      t.same(m.toJSON(), { errcode: 'M_FORBIDDEN', error: 'You may not', reason: 'tests', nested: { n: 1, list: ['a'] } });
      const l = (await rejection(api.fail({ kind: 'limit' }))) as MatrixError;
      t.type(l, MatrixError);
      t.same([l.status, l.errcode, l.extra.retry_after_ms], [429, 'M_LIMIT_EXCEEDED', 1234], 'retry_after_ms survives');
    });

    t.test('an unexpected error becomes IpcError INTERNAL', async (t) => {
      const e = await rejection(api.fail({ kind: 'unexpected' }));
      isIpc(t, e, 'INTERNAL', 'a TypeError');
      t.notOk(e instanceof MatrixError);
      t.match((e as Error).message, /boom/, 'the message says what failed');
      isIpc(t, await rejection(api.fail({ kind: 'string' })), 'INTERNAL', 'a thrown string');
      t.same(await api.echo({ still: 'serving' }), { still: 'serving' }, 'the callee keeps serving');
    });

    t.test('deadline: DEADLINE_EXCEEDED, and the callee sees its signal aborted', async (t) => {
      const started = Date.now();
      const e = await rejection(api.wait({ id: 'deadline', ms: 20_000 }, { timeoutMs: 300 }));
      const elapsed = Date.now() - started;
      isIpc(t, e, 'DEADLINE_EXCEEDED', 'a call past its timeoutMs');
      t.ok(elapsed >= 250 && elapsed < 10_000, `the caller waited for the deadline (${elapsed} ms)`);
      t.ok(await until(async () => (await api.state({ id: 'deadline' })).aborted, 5000), "the callee's ctx.signal was aborted");
      const st = await api.state({ id: 'deadline' });
      t.ok(st.deadline !== undefined && Math.abs(st.deadline - (started + 300)) < 1000, 'ctx.deadline is when the caller stops waiting');

      const e2 = await rejection(api.sleepy({ id: 'declared', ms: 20_000 }));
      isIpc(t, e2, 'DEADLINE_EXCEEDED', "the descriptor's timeoutMs applies by default");
      t.ok(await until(async () => (await api.state({ id: 'declared' })).aborted, 5000), 'that callee was aborted too');

    });

    t.test("a caller's AbortSignal cancels the call and aborts the callee", async (t) => {
      const ac = new AbortController();
      const call = rejection(api.wait({ id: 'abort', ms: 20_000 }, { signal: ac.signal, timeoutMs: 20_000 }));
      t.ok(await until(async () => (await api.state({ id: 'abort' })).started, 5000), 'the callee started');
      const abortedAt = Date.now();
      ac.abort();
      const e = await call;
      isIpc(t, e, 'DEADLINE_EXCEEDED', 'cancelled');
      t.ok(Date.now() - abortedAt < 5000, 'the call ends soon after the abort, not at its deadline');
      t.ok(await until(async () => (await api.state({ id: 'abort' })).aborted, 5000), "the callee's ctx.signal was aborted");

      const pre = new AbortController();
      pre.abort();
      isIpc(t, await rejection(api.wait({ id: 'pre', ms: 10 }, { signal: pre.signal })), 'DEADLINE_EXCEEDED', 'an already aborted signal');
      t.equal((await api.state({ id: 'pre' })).started, false, 'and nothing ran');
    });

    t.test('a call that ends in time is not aborted', async (t) => {
      const r = await api.wait({ id: 'quick', ms: 50 }, { timeoutMs: 10_000 });
      t.ok(r.waited >= 40, 'the callee ran to completion');
      await new Promise((r) => setTimeout(r, 100));
      t.equal((await api.state({ id: 'quick' })).aborted, false, 'finishing does not abort the signal afterwards');
    });
  });

  t.test(`${transport.name}: a callee that registers later is waited for`, async (t) => {
    const api = await transport.make(t, { registerAfterMs: 700 });
    const started = Date.now();
    t.same(await api.echo({ later: true }, { timeoutMs: 15_000 }), { later: true }, 'the call succeeds once the API is registered');
    t.ok(Date.now() - started >= 300, 'it did wait for the registration');
    t.equal(await api.increment({}, { timeoutMs: 15_000 }), 1, 'non-idempotent calls too (nothing ran on the earlier attempts)');
    t.equal(await api.count({}), 1, 'exactly once');
  });

  t.test(`${transport.name}: a callee that never registers: UNAVAILABLE at the deadline`, async (t) => {
    const api = await transport.make(t, { registerAfterMs: 120_000 });
    const started = Date.now();
    const e = await rejection(api.echo({}, { timeoutMs: 800 }));
    isIpc(t, e, 'UNAVAILABLE', 'not registered');
    const elapsed = Date.now() - started;
    t.ok(elapsed >= 500 && elapsed < 10_000, `it kept trying until about the deadline (${elapsed} ms)`);
  });
}

t.test('a method that throws before its first await answers with an error, over the socket and directly', async (t) => {
  const { createServer } = await import('node:http');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { IpcServer } = await import('../../src/platform/ipc/server.js');
  const { ApiDirectory } = await import('../../src/platform/ipc/directory.js');
  const { defineApi } = await import('../../src/platform/ipc/define.js');
  const { MatrixError } = await import('../../src/core/errors.js');
  const dir = mkdtempSync(join(tmpdir(), 'nt-'));
  const socket = join(dir, 's.sock');
  const desc = defineApi<{ boom(req: { kind: string }): Promise<void> }>('userapi', { boom: {} }, 'sync-throw');
  const ipc = new IpcServer();
  ipc.register(desc, {
    // Not async: throws synchronously.
    boom: ((req: { kind: string }) => {
      if (req.kind === 'matrix') throw new MatrixError(403, 'M_FORBIDDEN', 'no');
      throw new Error('plain');
    }) as never,
  });
  const server = createServer((req, res) => ipc.handle(req, res));
  await new Promise<void>((r) => server.listen(socket, r));
  const client = new ApiDirectory({ socketFor: () => socket }).get(desc);
  await t.rejects(client.boom({ kind: 'matrix' }), { name: 'MatrixError', message: 'no' });
  await t.rejects(client.boom({ kind: 'plain' }), { name: 'IpcError' });
  t.ok(server.listening, 'the callee is still serving');
  server.close();
  rmSync(dir, { recursive: true, force: true });

  // In the same process: a rejection as well, never a throw at the caller.
  const local = new ApiDirectory({ socketFor: () => undefined });
  local.provide(desc, {
    boom: ((req: { kind: string }) => {
      if (req.kind === 'matrix') throw new MatrixError(403, 'M_FORBIDDEN', 'no');
      throw new Error('plain');
    }) as never,
  });
  const direct = local.get(desc);
  let thrown = false;
  let p: Promise<void> | undefined;
  try {
    p = direct.boom({ kind: 'matrix' });
  } catch {
    thrown = true;
  }
  t.notOk(thrown, 'a direct call does not throw synchronously');
  await t.rejects(p!, { name: 'MatrixError', message: 'no' });
  await t.rejects(direct.boom({ kind: 'plain' }), { name: 'IpcError' });
  local.close();
});
