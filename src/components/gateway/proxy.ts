/**
 * Streams a public request to the process that owns it, over that process's
 * Unix socket, and the answer back. Bodies are never buffered (media can be
 * large), a long-poll holds its upstream connection for as long as the
 * client waits, and a client that hangs up cancels the upstream request.
 */
import { Agent, request, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { MatrixError } from '../../core/errors.js';
import { CORS_HEADERS } from '../../platform/http/cors.js';
import { sendMatrixError } from '../../platform/http/errors.js';
import { lingerAfterRefusal } from '../../platform/http/linger.js';

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, not the message.
/** How long a bodiless request waits for a component that is starting or restarting. */
const WAIT_FOR_COMPONENT_MS = 3000;
const NOT_LISTENING = new Set(['ENOENT', 'ECONNREFUSED']);

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate'];

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out = { ...headers };
  for (const h of HOP_BY_HOP) delete out[h];
  return out;
}

export class SocketProxy {
  private readonly agents = new Map<string, Agent>();

  private agent(socketPath: string): Agent {
    let a = this.agents.get(socketPath);
    if (!a) {
      a = new Agent({ keepAlive: true, maxFreeSockets: 32, scheduling: 'lifo' });
      this.agents.set(socketPath, a);
    }
    return a;
  }

  forward(req: IncomingMessage, res: ServerResponse, socketPath: string, component: string, opts: { cors?: boolean } = {}): void {
    const cors = opts.cors ?? true;
    const hasBody = !(req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE' || req.method === 'OPTIONS') || req.headers['content-length'] !== undefined;
    const since = Date.now();
    let current: ClientRequest | undefined;
    let resetRetried = false;
    res.on('close', () => {
      if (!res.writableFinished) current?.destroy();
    });

    const attempt = () => {
      const up = request({ socketPath, agent: this.agent(socketPath), method: req.method, path: req.url, headers: endToEnd(req.headers) });
      current = up;
      let answered = false;
      up.on('response', (ures) => {
        answered = true;
        if (hasBody && !req.readableEnded && (ures.statusCode ?? 0) >= 400) {
          // A refusal before the whole body went up (a 413 on the headers alone): the rest of the body is
          // dropped for a moment (the client may still be sending; it gets the answer, not a reset; linger.ts),
          // and the upstream connection, left mid-request, is not used again.
          req.unpipe(up);
          lingerAfterRefusal(req, res);
          ures.once('end', () => up.destroy());
        }
        res.writeHead(ures.statusCode ?? 502, { ...endToEnd(ures.headers), ...(cors ? CORS_HEADERS : {}) });
        ures.pipe(res);
        ures.on('error', () => res.destroy());
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        if (answered) return res.writableFinished ? undefined : res.destroy();
        if (res.destroyed || res.writableEnded) return;
        // A kept-alive connection the component closed while idle: the request never reached it.
        if (!resetRetried && !hasBody && up.reusedSocket && err.code === 'ECONNRESET') {
          resetRetried = true;
          return attempt();
        }
        // The component is (re)starting: a request without a body can wait a moment instead of failing.
        if (!hasBody && NOT_LISTENING.has(err.code ?? '') && Date.now() - since < WAIT_FOR_COMPONENT_MS) {
          setTimeout(() => {
            if (!res.destroyed) attempt();
          }, 100);
          return;
        }
        sendMatrixError(res, new MatrixError(503, 'M_UNKNOWN', `The ${component} component is not available right now; try again shortly`, { retry_after_ms: 1000 }));
      });
      if (hasBody) req.pipe(up);
      else up.end();
    };
    attempt();
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
