/**
 * The fastify factory every public component's routes are mounted on.
 * Cross-cutting work happens here once: JSON bodies with size and shape
 * limits, Matrix errors for everything (including unknown endpoints and
 * wrong methods), request ids. The app never listens itself: the process
 * host feeds it requests from its Unix socket or, in one process, straight
 * from the gateway (`app.routing`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';
import type { Logger } from 'pino';
import { MatrixError } from '../../core/errors.js';
import { toMatrixError } from './errors.js';
import { lingerAfterRefusal } from './linger.js';
import { CLIENT_IP_HEADER, REQUEST_ID_HEADER } from './headers.js';
import { DEFAULT_MAX_DEPTH, parseJsonBody } from './json-body.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Bodies that become events: floats and out-of-range integers are M_BAD_JSON. */
    canonicalJson?: boolean;
    /** The route reads the raw body itself (media uploads): no JSON defaults. */
    rawBody?: boolean;
  }
}

/** Bodies of event-building routes are limited to an event's size (spec: 65 536 bytes). */
export const EVENT_BODY_LIMIT = 65_536;
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface PublicAppOptions {
  logger: Logger;
  bodyLimit?: number;
}

let requestCounter = 0;

/** A body that is not acceptable JSON, refused before validation (see the parser below). */
class RefusedBody {
  constructor(readonly error: unknown) {}
}

export function createPublicApp(opts: PublicAppOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.logger,
    // One log line per request would wear an SD card; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: (req) => {
      const id = req.headers[REQUEST_ID_HEADER];
      return typeof id === 'string' && id.length <= 64 ? id : `r${process.pid.toString(36)}-${(++requestCounter).toString(36)}`;
    },
    // Neurite validates bodies itself; fastify's ajv-based compilers are not loaded (memory on a small board).
    schemaController: {
      compilersFactory: {
        buildValidator: (() => () => () => true) as never,
        buildSerializer: () => () => (data: unknown) => JSON.stringify(data),
      },
    },
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 1000 },
  }) as unknown as FastifyInstance;

  // Every content type is read as JSON unless a route scope says otherwise
  // (media uploads register their own parser); clients do not all send
  // Content-Type on JSON bodies.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer, { maxDepth: DEFAULT_MAX_DEPTH, canonicalNumbers: request.routeOptions.config.canonicalJson === true }));
    } catch (e) {
      // Not handed to fastify as a parser error: it would close the connection (the body was read whole, so
      // there is no reason to), and the gateway's proxy, still finishing its write, then lost the answer (503).
      done(null, new RefusedBody(e));
    }
  });

  app.addHook('preValidation', async (request) => {
    if (request.body instanceof RefusedBody) throw request.body.error;
    // A POST or PUT without a body (and so without Content-Type) reaches no
    // parser; JSON routes treat it as the empty object the spec allows.
    if (request.body === undefined && (request.method === 'POST' || request.method === 'PUT') && !request.routeOptions.config.rawBody) {
      request.body = {};
    }
  });

  // fastify labels JSON "application/json; charset=utf-8"; the spec says
  // application/json (JSON is UTF-8 by definition), as Synapse sends it, and
  // some clients and test suites compare the header whole.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8') reply.header('content-type', 'application/json');
    done(null, payload);
  });

  app.setErrorHandler((err, request, reply) => {
    const mx = toMatrixError(err);
    // fastify closes the connection after refusing a body too large; instead the rest is read and dropped for
    // a moment (bounded: linger.ts), so the sender (the gateway's proxy, a client) gets the 413 rather than a
    // connection closed under its write.
    reply.removeHeader('connection');
    lingerAfterRefusal(request.raw, reply.raw);
    if (mx.status >= 500) request.log.error({ err, reqId: request.id, url: request.url }, 'request failed');
    sendError(reply, mx);
  });

  // Paths that exist under some method, to tell 405 from 404.
  const paths = FindMyWay();
  app.addHook('onRoute', (route) => {
    if (!paths.findRoute('GET', route.url)) paths.on('GET', route.url, () => {});
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    if (paths.find('GET', path)) sendError(reply, new MatrixError(405, 'M_UNRECOGNIZED', `Method ${request.method} is not allowed on ${path}`));
    else sendError(reply, new MatrixError(404, 'M_UNRECOGNIZED', `Unrecognized request: ${request.method} ${path}`));
  });

  return app;
}

/**
 * Names a routes plugin. fastify otherwise looks the name up in
 * `require.cache`, which an ES module bundle does not have.
 */
export function namedPlugin(name: string, plugin: FastifyPluginAsync): FastifyPluginAsync {
  return Object.assign(plugin, { [Symbol.for('fastify.display-name')]: name });
}

function sendError(reply: FastifyReply, mx: MatrixError): void {
  const retry = mx.extra.retry_after_ms;
  if (typeof retry === 'number') reply.header('retry-after', String(Math.ceil(retry / 1000)));
  reply.status(mx.status).type('application/json').send(mx.toJSON());
}

/** The client's address as the gateway saw it. */
export function clientIp(request: FastifyRequest): string {
  const h = request.headers[CLIENT_IP_HEADER];
  return typeof h === 'string' ? h : request.socket.remoteAddress ?? 'unknown';
}

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;
