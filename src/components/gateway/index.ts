/**
 * Gateway: owns the public listeners (client port, federation port with TLS,
 * setup port), routes each request by path to the component that serves it
 * (in this process, or streamed over the owner's Unix socket), answers CORS
 * pre-flights, applies a per-address flood limit, and on stop closes its
 * listeners first and lets requests in flight finish.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { MatrixError } from '../../core/errors.js';
import { resolveDataPath } from '../../platform/config/paths.js';
import { CLIENT_IP_HEADER, REQUEST_ID_HEADER } from '../../platform/http/headers.js';
import { CORS_HEADERS } from '../../platform/http/cors.js';
import { sendMatrixError, toMatrixError } from '../../platform/http/errors.js';
import { lingerAfterRefusal } from '../../platform/http/linger.js';
import { RateLimiter } from '../../platform/http/rate-limit.js';
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { SocketProxy } from './proxy.js';
import { currentUrl, routeFor, type ListenerKind } from './routing-table.js';

const DRAIN_MS = 2000;

interface Listener {
  kind: ListenerKind;
  port: number;
  server: Server;
}

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const { config, logger } = ctx;
  const proxy = new SocketProxy();
  // A coarse guard against floods from one address; per-endpoint limits live with the endpoints.
  const flood = config.rate_limits ? new RateLimiter({ perSecond: 200, burst: 1000 }) : undefined;
  const idPrefix = randomBytes(3).toString('hex');
  let counter = 0;
  let active = 0;
  let stopping = false;

  const handle = (kind: ListenerKind) => (req: IncomingMessage, res: ServerResponse) => {
    active++;
    res.once('close', () => active--);
    try {
      const ip = req.socket.remoteAddress ?? 'unknown';
      // Set here, never taken from the client: components trust these headers.
      req.headers[CLIENT_IP_HEADER] = ip;
      req.headers[REQUEST_ID_HEADER] = `${idPrefix}-${(++counter).toString(36)}`;
      if (stopping) return sendMatrixError(res, new MatrixError(503, 'M_UNKNOWN', 'The server is stopping'), { connection: 'close' });
      // CORS opens the Matrix APIs to web clients; the setup port's pages must stay closed to other sites.
      const cors = kind !== 'setup';
      if (cors && req.url) req.url = currentUrl(req.url);
      const path = (req.url ?? '/').split('?')[0]!;
      if (cors && req.method === 'OPTIONS') {
        lingerAfterRefusal(req, res);
        res.writeHead(200, { ...CORS_HEADERS, 'content-type': 'application/json', 'content-length': 2 });
        return res.end('{}');
      }
      const component = routeFor(kind, path);
      if (!component) {
        lingerAfterRefusal(req, res);
        return sendMatrixError(res, new MatrixError(404, 'M_UNRECOGNIZED', `Unrecognized request: ${req.method} ${path}`));
      }
      flood?.check(ip);
      const upstream = ctx.routeTo(component);
      if (upstream.kind === 'local') {
        if (cors) for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
        upstream.handle(req, res);
      } else if (upstream.kind === 'socket') {
        proxy.forward(req, res, upstream.socketPath, component, { cors });
      } else {
        lingerAfterRefusal(req, res);
        sendMatrixError(res, new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request'));
      }
    } catch (e) {
      lingerAfterRefusal(req, res);
      sendMatrixError(res, toMatrixError(e));
    }
  };

  const listeners: Listener[] = [];
  const open = async (kind: ListenerKind, port: number, tls: boolean): Promise<void> => {
    const options = { keepAliveTimeout: 65_000, headersTimeout: 60_000, requestTimeout: 0 };
    const server = tls
      ? // Loaded here, not imported: node:https (with node:tls) costs a process about 2.5 MB, and without TLS it is never needed.
        process.getBuiltinModule('node:https').createServer(
          { ...options, cert: readFileSync(resolveDataPath(ctx.paths, config.tls.cert)), key: readFileSync(resolveDataPath(ctx.paths, config.tls.key)) },
          handle(kind),
        )
      : createHttpServer(options, handle(kind));
    // A malformed request line or header never reaches a handler: answer it as a Matrix error.
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const body = JSON.stringify({ errcode: 'M_UNKNOWN', error: `Bad request (${err.code ?? 'malformed'})` });
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        const where = `${config.bind}:${port} (${kind} port)`;
        if (e.code === 'EADDRINUSE') reject(new Error(`${where} is already in use`));
        else if (e.code === 'EACCES') reject(new Error(`${where} needs privileges this process does not have`));
        else if (e.code === 'EADDRNOTAVAIL') reject(new Error(`${config.bind} is not an address of this machine`));
        else reject(new Error(`cannot listen on ${where}: ${e.message}`));
      });
      server.listen(port, config.bind, () => resolve());
    });
    const address = server.address();
    listeners.push({ kind, port: typeof address === 'object' && address ? address.port : port, server });
  };

  const closeAll = async () => {
    stopping = true;
    for (const l of listeners) {
      l.server.close();
      l.server.closeIdleConnections();
    }
    const until = Date.now() + DRAIN_MS;
    while (active > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    for (const l of listeners) l.server.closeAllConnections();
    proxy.close();
  };
  ctx.onStop(closeAll);

  try {
    if (ctx.configured) {
      await open('client', config.client_port, false);
      await open('federation', config.federation_port, config.tls.mode !== 'off');
    }
    await open('setup', config.setup_port, false);
  } catch (e) {
    await closeAll();
    throw e;
  }
  for (const l of listeners) logger.info({ listener: l.kind, address: `${config.bind}:${l.port}` }, 'listening');

  return {
    health: () => ({ listeners: listeners.map((l) => ({ kind: l.kind, port: l.port })), active_requests: active }),
  };
}
