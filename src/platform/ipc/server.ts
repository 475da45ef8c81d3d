/**
 * The receiving side of internal calls: `POST /_internal/<component>/<ns>/<method>`
 * with a JSON body, answered with `{"r": result}` or `{"error": WireError}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { methodPath, type ApiDescriptor, type ApiMethod, type ApiShape, type CallContext, type MethodSpec } from './define.js';
import { DEADLINE_HEADER, toWireError, type WireError } from './wire.js';

const MAX_BODY = 64 * 1024 * 1024;

export type InternalErrorReporter = (err: unknown, path: string) => void;

interface Handler {
  run: ApiMethod;
  /** Safe to retry: the caller needs no word that the call is about to run. */
  idempotent: boolean;
}

export class IpcServer {
  private readonly handlers = new Map<string, Handler>();

  constructor(private readonly onInternalError: InternalErrorReporter = () => {}) {}

  register<T extends ApiShape<T>>(desc: ApiDescriptor<T>, impl: T): void {
    for (const name of Object.keys(desc.methods)) {
      const fn = (impl as Record<string, unknown>)[name];
      if (typeof fn !== 'function') throw new Error(`${desc.component} does not implement ${name}`);
      const spec = desc.methods[name as keyof typeof desc.methods] as MethodSpec;
      this.handlers.set(methodPath(desc, name), { run: (fn as ApiMethod).bind(impl), idempotent: spec.idempotent === true });
    }
  }

  /** Handles a request whose path starts with /_internal/. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]!;
    const handler = this.handlers.get(path);
    if (req.method !== 'POST') return send(res, 405, { error: { type: 'internal', message: 'internal calls use POST' } });
    if (!handler) {
      // Not registered (yet): the callee component is not running here or still starting.
      // Nothing ran, so the caller may retry.
      req.resume();
      return send(res, 503, { error: { type: 'unavailable', message: `${path} is not served by this process (yet)` } });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        send(res, 413, { error: { type: 'internal', message: 'internal call body too large' } });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let arg: unknown;
      try {
        arg = size === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, { error: { type: 'internal', message: 'internal call body is not JSON' } });
      }
      const controller = new AbortController();
      const deadline = Number(req.headers[DEADLINE_HEADER]) || Date.now() + 30_000;
      // The caller hanging up (deadline, cancelled long-poll) aborts the work.
      res.on('close', () => {
        if (!res.writableFinished) controller.abort();
      });
      const ctx: CallContext = { signal: controller.signal, deadline };
      // 102 tells the caller the call is about to run: from now on a broken
      // connection may mean it ran, so a non-idempotent call must not be
      // retried. An idempotent one is retried either way, and the interim
      // answer would cost both sides a write and a read per call.
      if (!handler.idempotent) res.writeProcessing();
      // Through a promise, so that a method throwing before its first await
      // answers with an error instead of taking the process down.
      Promise.resolve()
        .then(() => handler.run(arg, ctx))
        .then(
          (r: unknown) => send(res, 200, r === undefined ? {} : { r }),
          (e: unknown) => {
            const wire: WireError = toWireError(e);
            if (wire.type === 'internal') this.onInternalError(e, path);
            send(res, 500, { error: wire });
          },
        );
    });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  let text: string;
  try {
    text = JSON.stringify(body);
  } catch (e) {
    status = 500;
    text = JSON.stringify({ error: { type: 'internal', message: `result is not JSON: ${(e as Error).message}` } });
  }
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
