/**
 * One request to a push gateway (push gateway API `POST /_matrix/push/v1/notify`):
 * the body is sent as JSON; a 2xx answer names the pushkeys the gateway
 * rejected. Anything else is a `GatewayError`, which says whether trying
 * again later could help (network errors, 5xx, 429) or not (other 4xx).
 */
import { request as httpRequest } from 'node:http';

export class GatewayError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;
/** A gateway's answer is a small JSON object; more is not read. */
const MAX_ANSWER_BYTES = 64 * 1024;

export function notifyGateway(url: string, body: unknown): Promise<{ rejected: string[] }> {
  const data = Buffer.from(JSON.stringify(body), 'utf8');
  const target = new URL(url);
  // node:https loads on first use: with node:tls it costs about 2.5 MB, and most boards have no https pusher.
  const request = target.protocol === 'https:' ? process.getBuiltinModule('node:https').request : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      { method: 'POST', timeout: TIMEOUT_MS, headers: { 'content-type': 'application/json', 'content-length': data.length } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_ANSWER_BYTES) chunks.push(c);
        });
        res.on('error', (e) => reject(new GatewayError(`push gateway answer: ${e.message}`, true)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new GatewayError(`push gateway answered ${status}`, status >= 500 || status === 429));
            return;
          }
          let rejected: string[] = [];
          try {
            const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { rejected?: unknown };
            if (Array.isArray(answer.rejected)) rejected = answer.rejected.filter((k): k is string => typeof k === 'string');
          } catch {
            // A 2xx without a readable body still delivered the notification.
          }
          resolve({ rejected });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
    req.on('error', (e) => reject(e instanceof GatewayError ? e : new GatewayError(`push gateway unreachable: ${e.message}`, true)));
    req.end(data);
  });
}
