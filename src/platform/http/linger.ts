/**
 * A request refused before its body was read to the end: the answer goes
 * out at once, then the connection lingers briefly, dropping what still
 * arrives, and is cut. Closing at once would reset a connection the client
 * is still writing to, and the reset can destroy the answer before the
 * client reads it; reading to the end would let a refused client make the
 * server read gigabytes. A body that ends within the limits leaves the
 * connection open for the next request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long, and how much, of a refused body is dropped after the answer before the connection is cut. */
export const LINGER_MS = 2000;
export const LINGER_BYTES = 4 * 1024 * 1024;

export function lingerAfterRefusal(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return;
  // Dropped from now on; counted (and cut) only once the answer is out.
  req.resume();
  const start = () => {
    if (req.complete) return;
    let dropped = 0;
    // Destroying a request not read to the end destroys its connection.
    const cut = () => req.destroy();
    const timer = setTimeout(cut, LINGER_MS);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > LINGER_BYTES) cut();
    });
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
    // Node's own drain after the answer removed every 'data' listener and may have paused nothing; keep it flowing.
    req.resume();
  };
  if (res.writableFinished) start();
  else res.once('finish', start);
}
