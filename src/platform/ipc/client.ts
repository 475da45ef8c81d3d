/**
 * The calling side of internal calls over a Unix socket: a kept-alive
 * connection pool, a deadline per call, and retries only where a retry
 * cannot run the call twice (it never reached the callee) or the method is
 * declared idempotent.
 */
import { Agent, request, type ClientRequest } from 'node:http';
import { IpcError } from './errors.js';
import { DEADLINE_HEADER, fromWireError, type WireError } from './wire.js';

export interface SendOptions {
  deadline: number;
  idempotent: boolean;
  signal?: AbortSignal;
}

class Attempt extends Error {
  constructor(
    readonly delivered: boolean,
    message: string,
  ) {
    super(message);
  }
}

const NOT_DELIVERED = new Set(['ECONNREFUSED', 'ENOENT', 'EAGAIN', 'ENOTSOCK']);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class SocketClient {
  private readonly agent: Agent;

  constructor(
    readonly socketPath: string,
    readonly peer: string,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, scheduling: 'lifo' });
  }

  async call(path: string, body: unknown, opts: SendOptions): Promise<unknown> {
    const payload = body === undefined ? '' : JSON.stringify(body);
    let undelivered: Attempt | undefined;
    for (let attempt = 0; ; attempt++) {
      if (opts.signal?.aborted) throw new IpcError('DEADLINE_EXCEEDED', `call to ${this.peer} cancelled`);
      const remaining = opts.deadline - Date.now();
      if (remaining <= 0) {
        // A retry's sleep that overran the deadline: the call never reached the callee.
        if (undelivered) throw new IpcError('UNAVAILABLE', `${this.peer} is unavailable: ${undelivered.message}`);
        throw new IpcError('DEADLINE_EXCEEDED', `${this.peer} did not answer ${path} in time`);
      }
      try {
        return await this.once(path, payload, opts.deadline, remaining, opts.signal);
      } catch (e) {
        if (!(e instanceof Attempt)) throw e;
        undelivered = e.delivered ? undefined : e;
        const retry = !e.delivered || opts.idempotent;
        const wait = Math.min(25 * 2 ** attempt, 250);
        if (!retry || Date.now() + wait >= opts.deadline) {
          throw new IpcError('UNAVAILABLE', `${this.peer} is unavailable: ${e.message}`);
        }
        await sleep(wait);
      }
    }
  }

  private once(path: string, payload: string, deadline: number, remaining: number, signal?: AbortSignal): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const req: ClientRequest = request({
        socketPath: this.socketPath,
        agent: this.agent,
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          [DEADLINE_HEADER]: String(deadline),
        },
      });
      // Whether the request reached a connected socket: a deadline that passes before it did
      // means the callee was never reachable (UNAVAILABLE), not that it was slow to answer.
      let connected = false;
      req.on('socket', (s) => {
        if (!s.connecting) connected = true;
        else s.once('connect', () => (connected = true));
      });
      const timer = setTimeout(() => {
        req.destroy();
        if (!connected) done(() => reject(new Attempt(false, 'no connection before the deadline')));
        else done(() => reject(new IpcError('DEADLINE_EXCEEDED', `${this.peer} did not answer ${path} in time`)));
      }, remaining);
      const onAbort = () => {
        req.destroy();
        done(() => reject(new IpcError('DEADLINE_EXCEEDED', `call to ${this.peer} cancelled`)));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // The callee answers 102 just before it runs the call (see IpcServer.handle).
      let started = false;
      req.on('information', () => {
        started = true;
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A stale kept-alive socket closed by the peer, or no listener at all: the call never ran.
        // A reused socket reset after the callee started the call is a callee that died mid-call.
        const delivered = started || !(NOT_DELIVERED.has(err.code ?? '') || (req.reusedSocket && err.code === 'ECONNRESET'));
        done(() => reject(new Attempt(delivered, err.code ?? err.message)));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => done(() => reject(new Attempt(true, 'response interrupted'))));
        res.on('end', () => {
          let parsed: { r?: unknown; error?: WireError };
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return done(() => reject(new IpcError('INTERNAL', `${this.peer} answered ${path} with something that is not JSON`)));
          }
          if (res.statusCode === 200) return done(() => resolve(parsed.r));
          const wire = parsed.error ?? { type: 'internal', message: `status ${res.statusCode}` };
          // "unavailable" means the callee process is up but the component is not (yet): nothing ran.
          if (wire.type === 'unavailable' && res.statusCode === 503) return done(() => reject(new Attempt(false, wire.message)));
          done(() => reject(fromWireError(wire, `${this.peer} ${path}`)));
        });
      });
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
