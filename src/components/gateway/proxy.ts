/**
 * Streams a public request to the process that owns it, over that process's
 * Unix socket, and the answer back. Bodies are never buffered (media can be
 * large), a long-poll holds its upstream connection for as long as the
 * client waits, and a client that hangs up cancels the upstream request.
 *
 * The upstream side is written by hand on kept-alive connections
 * (http/upstream.ts): node:http's client and Agent cost the gateway about
 * 100 µs of CPU more per request, and every public request in split pays
 * this hop.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MatrixError } from '../../core/errors.js';
import { CORS_HEADERS } from '../../platform/http/cors.js';
import { sendMatrixError } from '../../platform/http/errors.js';
import { lingerAfterRefusal } from '../../platform/http/linger.js';
import { ConnectionPool, type UpstreamConnection } from '../../platform/http/upstream.js';

/** How long a bodiless request waits for a component that is starting or restarting. */
const WAIT_FOR_COMPONENT_MS = 3000;
const NOT_LISTENING = new Set(['ENOENT', 'ECONNREFUSED']);

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, not the message.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
const CORS_NAMES = new Set(Object.keys(CORS_HEADERS).map((k) => k.toLowerCase()));
const CORS_RAW = Object.entries(CORS_HEADERS).flat();
/** Methods whose requests have no body unless they declare one; the others are sent one even when empty, as node:http's client did. */
const BODILESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

/**
 * The request head for the upstream: the end-to-end headers as node:http
 * parsed them (with what the gateway set there: the client's address and
 * the request id, never the client's own), and how the body is framed there.
 */
function requestHead(req: IncomingMessage): { head: string; chunked: boolean } {
  let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    if (Array.isArray(value)) for (const v of value) head += `${name}: ${v}\r\n`;
    else head += `${name}: ${value}\r\n`;
  }
  // The client's own framing (chunked) is hop-by-hop: the body is framed again for the upstream.
  const chunked = req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined;
  if (chunked) head += 'transfer-encoding: chunked\r\n';
  else if (req.headers['content-length'] === undefined && !BODILESS.has(req.method ?? 'GET')) head += 'content-length: 0\r\n';
  return { head: `${head}\r\n`, chunked };
}

/** The upstream's answer headers for the client: end-to-end only, with CORS where the listener wants it. */
function answerHeaders(raw: string[], cors: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || (cors && CORS_NAMES.has(name))) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return cors ? out.concat(CORS_RAW) : out;
}

export class SocketProxy {
  private readonly pools = new Map<string, ConnectionPool>();

  private pool(socketPath: string): ConnectionPool {
    let p = this.pools.get(socketPath);
    if (!p) {
      // No limit on open connections (each long-poll holds one); 32 kept idle.
      p = new ConnectionPool(socketPath, { max: Infinity, maxIdle: 32 });
      this.pools.set(socketPath, p);
    }
    return p;
  }

  forward(req: IncomingMessage, res: ServerResponse, socketPath: string, component: string, opts: { cors?: boolean } = {}): void {
    const cors = opts.cors ?? true;
    const hasBody = !BODILESS.has(req.method ?? 'GET') || req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const { head, chunked } = requestHead(req);
    const pool = this.pool(socketPath);
    const since = Date.now();
    let current: UpstreamConnection | undefined;
    let resetRetried = false;
    res.on('close', () => {
      if (!res.writableFinished) current?.destroy();
    });

    const attempt = () => {
      pool.take((up) => {
        if (res.destroyed) return pool.release(up);
        current = up;
        let answered = false;
        /** The request body is no longer sent up (the upstream refused it early). */
        let refused = false;
        /** The client is slower than the upstream: the upstream connection is paused until it catches up. */
        let draining = false;
        const onResDrain = () => {
          draining = false;
          up.resume();
        };
        // The body as it arrives, with backpressure both ways.
        const onData = (c: Buffer) => {
          if (c.length === 0) return;
          let ok: boolean;
          if (chunked) {
            up.write(`${c.length.toString(16)}\r\n`);
            up.write(c);
            ok = up.write('\r\n');
          } else ok = up.write(c);
          if (!ok) {
            req.pause();
            up.onDrain = () => req.resume();
          }
        };
        /** The whole body went up: the connection is at a request boundary again. */
        let bodySent = !hasBody;
        const onEnd = () => {
          if (chunked) up.write('0\r\n\r\n');
          bodySent = true;
        };
        const stopBody = () => {
          req.off('data', onData);
          req.off('end', onEnd);
          up.onDrain = undefined;
          // What is left of the body is for lingerAfterRefusal or the closing connection; a paused request would hold it.
          if (req.isPaused()) req.resume();
        };
        up.begin(
          {
            head: (h) => {
              answered = true;
              if (hasBody && !req.readableEnded && h.status >= 400) {
                // A refusal before the whole body went up (a 413 on the headers alone): the rest of the body is
                // dropped for a moment (the client may still be sending; it gets the answer, not a reset; linger.ts),
                // and the upstream connection, left mid-request, is not used again.
                refused = true;
                stopBody();
                lingerAfterRefusal(req, res);
              }
              res.writeHead(h.status, h.statusText || undefined, answerHeaders(h.rawHeaders, cors));
            },
            data: (c) => {
              if (!res.write(c) && !draining) {
                draining = true;
                up.pause();
                res.once('drain', onResDrain);
              }
            },
            end: () => {
              stopBody();
              // The answer may end while the client still drains it: the connection must read again before its next exchange.
              if (draining) {
                res.off('drain', onResDrain);
                up.resume();
              }
              current = undefined;
              res.end();
              // Answered before the whole body went up (refused, or an upstream that did not wait for it): the
              // upstream still expects the rest, so the connection cannot carry another request.
              if (refused || !bodySent) up.destroy();
              else pool.release(up);
            },
            failed: (code) => {
              stopBody();
              if (answered) return res.writableFinished ? undefined : res.destroy();
              if (res.destroyed || res.writableEnded) return;
              // A kept-alive connection the component closed while idle: the request never reached it.
              if (!resetRetried && !hasBody && up.reused && !up.answering && (code === 'ECONNRESET' || code === 'EPIPE')) {
                resetRetried = true;
                return attempt();
              }
              // The component is (re)starting: a request without a body can wait a moment instead of failing.
              if (!hasBody && NOT_LISTENING.has(code) && Date.now() - since < WAIT_FOR_COMPONENT_MS) {
                setTimeout(() => {
                  if (!res.destroyed) attempt();
                }, 100);
                return;
              }
              sendMatrixError(res, new MatrixError(503, 'M_UNKNOWN', `The ${component} component is not available right now; try again shortly`, { retry_after_ms: 1000 }));
            },
          },
          req.method === 'HEAD',
        );
        // Header values (and the target) are bytes node:http read as latin1: written back the same way.
        up.write(head, 'latin1');
        if (hasBody) {
          req.on('data', onData);
          req.on('end', onEnd);
        }
      });
    };
    attempt();
  }

  close(): void {
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
  }
}
