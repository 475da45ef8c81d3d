/**
 * The last lines a child wrote (its JSON log lines), kept by the supervisor
 * for the dashboard. Bounded by lines and bytes, so a chatty or broken
 * process cannot grow the supervisor. The output still goes on to the
 * supervisor's own stdout/stderr, so the journal keeps everything.
 */
import type { Readable, Writable } from 'node:stream';

const MAX_LINES = 200;
const MAX_BYTES = 64 * 1024;
/** A longer line is cut: one line must not evict the rest. */
const MAX_LINE = 4096;
const guarded = new WeakSet<Writable>();

export class LogTail {
  private readonly buf: string[] = [];
  private bytes = 0;

  /** Copies `from` to `to` and keeps its last lines. */
  follow(from: Readable, to: Writable): void {
    let partial = '';
    // A closed stdout (EPIPE) must not take the supervisor down with it.
    if (!guarded.has(to)) {
      guarded.add(to);
      to.on('error', () => {});
    }
    from.on('data', (chunk: Buffer) => {
      if (to.writable) to.write(chunk);
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop()!.slice(0, MAX_LINE);
      for (const line of parts) if (line !== '') this.push(line);
    });
    from.on('end', () => {
      if (partial !== '') this.push(partial);
      partial = '';
    });
  }

  push(line: string): void {
    const l = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
    this.buf.push(l);
    this.bytes += l.length;
    while (this.buf.length > MAX_LINES || this.bytes > MAX_BYTES) this.bytes -= this.buf.shift()!.length;
  }

  /** The newest `n` lines, oldest first. */
  lines(n: number): string[] {
    const k = Number.isInteger(n) && n > 0 ? Math.min(n, MAX_LINES) : MAX_LINES;
    return this.buf.slice(-k);
  }
}
