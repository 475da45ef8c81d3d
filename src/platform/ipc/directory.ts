/**
 * Hands a caller the API of any component: the implementation itself when
 * the component runs in this process, a socket client when it runs in
 * another. Both look the same to the caller.
 */
import type { ComponentName } from '../config/components.js';
import { DEFAULT_TIMEOUT_MS, methodPath, type ApiDescriptor, type ApiShape, type CallContext } from './define.js';
import { MatrixError } from '../../core/errors.js';
import { IpcError } from './errors.js';
import type { IpcServer } from './server.js';
import { SocketClient } from './client.js';

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** What a caller holds: each method takes its request and optional call options. */
export type Client<T> = {
  [K in keyof T]: T[K] extends (req: infer R, ctx?: CallContext) => Promise<infer A> ? (req: R, opts?: CallOptions) => Promise<A> : never;
};

export interface Placement {
  /** The Unix socket of the process that runs `component`, or undefined when it runs here. */
  socketFor(component: ComponentName): string | undefined;
}

/**
 * Runs a call in this process with what a socket call gets: the deadline and
 * the caller's signal end the call (DEADLINE_EXCEEDED) and abort ctx.signal,
 * a MatrixError or IpcError passes through, anything else is IpcError INTERNAL.
 */
function callDirect(run: (ctx: CallContext) => Promise<unknown>, what: string, deadline: number, signal?: AbortSignal): Promise<unknown> {
  if (signal?.aborted) return Promise.reject(new IpcError('DEADLINE_EXCEEDED', `call to ${what} cancelled`));
  const controller = new AbortController();
  return new Promise((resolve, reject) => {
    const stop = (err?: IpcError) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        controller.abort(err);
        reject(err);
      }
    };
    const timer = setTimeout(() => stop(new IpcError('DEADLINE_EXCEEDED', `${what} did not answer in time`)), Math.max(0, deadline - Date.now()));
    const onAbort = () => stop(new IpcError('DEADLINE_EXCEEDED', `call to ${what} cancelled`));
    signal?.addEventListener('abort', onAbort, { once: true });
    let running: Promise<unknown>;
    try {
      running = run({ signal: controller.signal, deadline });
    } catch (e) {
      running = Promise.reject(e);
    }
    running.then(
      (r) => {
        stop();
        resolve(r);
      },
      (e: unknown) => {
        stop();
        if (e instanceof MatrixError || e instanceof IpcError) reject(e);
        else reject(Object.assign(new IpcError('INTERNAL', `${what} failed: ${e instanceof Error ? e.message : String(e)}`), { cause: e }));
      },
    );
  });
}

interface LocalEntry {
  impl?: object;
  waiters: (() => void)[];
}

export class ApiDirectory {
  private readonly local = new Map<string, LocalEntry>();
  private readonly sockets = new Map<string, SocketClient>();
  private readonly clients = new Map<string, unknown>();

  constructor(
    private readonly placement: Placement,
    private readonly server?: IpcServer,
  ) {}

  /** Makes an implementation callable, directly here and over this process's socket. */
  provide<T extends ApiShape<T>>(desc: ApiDescriptor<T>, impl: T): void {
    const key = `${desc.component}/${desc.namespace}`;
    const entry = this.local.get(key) ?? { waiters: [] };
    entry.impl = impl;
    this.local.set(key, entry);
    for (const w of entry.waiters.splice(0)) w();
    this.server?.register(desc, impl);
  }

  /** Whether calls to this API are direct calls in this process. */
  runsHere(desc: { component: ComponentName }): boolean {
    return this.placement.socketFor(desc.component) === undefined;
  }

  get<T extends ApiShape<T>>(desc: ApiDescriptor<T>): Client<T> {
    const key = `${desc.component}/${desc.namespace}`;
    let client = this.clients.get(key) as Client<T> | undefined;
    if (!client) {
      const socket = this.placement.socketFor(desc.component);
      client = socket === undefined ? this.directClient(desc, key) : this.remoteClient(desc, socket);
      this.clients.set(key, client);
    }
    return client;
  }

  private directClient<T extends ApiShape<T>>(desc: ApiDescriptor<T>, key: string): Client<T> {
    const out: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(desc.methods) as [string, { timeoutMs?: number }][]) {
      out[name] = async (req: unknown, opts: CallOptions = {}) => {
        const deadline = Date.now() + (opts.timeoutMs ?? spec.timeoutMs ?? DEFAULT_TIMEOUT_MS);
        const impl = (await this.localImpl(key, deadline, opts.signal)) as Record<string, (r: unknown, c: CallContext) => Promise<unknown>>;
        return callDirect((ctx) => impl[name]!(req, ctx), `${key}.${name}`, deadline, opts.signal);
      };
    }
    return out as Client<T>;
  }

  private async localImpl(key: string, deadline: number, signal?: AbortSignal): Promise<object> {
    let entry = this.local.get(key);
    if (entry?.impl) return entry.impl;
    if (!entry) {
      entry = { waiters: [] };
      this.local.set(key, entry);
    }
    const e = entry;
    // The component is in this process but still starting: wait for it, as a remote caller would retry.
    await new Promise<void>((resolve, reject) => {
      const settle = (err?: IpcError) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = e.waiters.indexOf(waiter);
        if (i >= 0) e.waiters.splice(i, 1);
        if (err) reject(err);
        else resolve();
      };
      const waiter = () => settle();
      const timer = setTimeout(() => settle(new IpcError('UNAVAILABLE', `${key} did not start in time`)), Math.max(0, deadline - Date.now()));
      const onAbort = () => settle(new IpcError('DEADLINE_EXCEEDED', `call to ${key} cancelled`));
      e.waiters.push(waiter);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    return e.impl!;
  }

  private remoteClient<T extends ApiShape<T>>(desc: ApiDescriptor<T>, socket: string): Client<T> {
    let sc = this.sockets.get(socket);
    if (!sc) {
      sc = new SocketClient(socket, desc.component);
      this.sockets.set(socket, sc);
    }
    const client = sc;
    const out: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(desc.methods) as [string, { timeoutMs?: number; idempotent?: boolean }][]) {
      const path = methodPath(desc, name);
      out[name] = (req: unknown, opts: CallOptions = {}) =>
        client.call(path, req, {
          deadline: Date.now() + (opts.timeoutMs ?? spec.timeoutMs ?? DEFAULT_TIMEOUT_MS),
          idempotent: spec.idempotent ?? false,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
    }
    return out as Client<T>;
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}
