/**
 * A request refused before its body was read to the end: the answer goes
 * out at once; then what still arrives is read and dropped, up to a bound,
 * after which reading stops (the sender is held back by TCP), and a moment
 * later the connection is cut. Closing at once would reset a connection the
 * client is still writing to, and the reset can destroy the answer before
 * the client reads it (a busy client may take a while: it gets the whole
 * wait); reading to the end would let a refused client make the server read
 * gigabytes. A body that ends within the bound leaves the connection open
 * for the next request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of a refused body is read and dropped after the answer, and when the connection is cut. */
export const LINGER_BYTES = 4 * 1024 * 1024;
export const LINGER_MS = 5000;

const lingering = new WeakSet<IncomingMessage>();

export function lingerAfterRefusal(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || lingering.has(req)) return;
  lingering.add(req);
  // Dropped from now on; counted only once the answer is out.
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
      if (dropped > LINGER_BYTES) req.pause();
    });
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
    // Node's own drain after the answer removed every 'data' listener and may have paused nothing; keep it flowing.
    req.resume();
  };
  if (res.writableFinished) start();
  else res.once('finish', start);
}
