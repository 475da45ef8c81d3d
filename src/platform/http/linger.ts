/**
 * A request refused before its body was read to the end: the answer goes
 * out at once; what still arrives is read and dropped up to a bound, after
 * which reading stops (TCP holds the sender back), and the connection is
 * cut a while after the answer. Closing at once would reset a connection
 * the client is still writing to, and the reset can destroy the answer
 * before the client reads it (some clients, undici's fetch among them, read
 * the answer only once they have sent the whole body); reading to the end
 * would let a refused client make the server read gigabytes. The bound is
 * above every body limit (1 MiB for JSON, 50 MiB for media by default), so
 * such a client still gets its answer; a body that ends within it leaves
 * the connection open for the next request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of a refused body is read and dropped after the answer, and when the connection is cut. */
export const LINGER_BYTES = 64 * 1024 * 1024;
export const LINGER_MS = 10_000;

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
