/**
 * Structured logs: one JSON line per event on stdout, each naming its
 * component (or process), as pino writes them. Children inherit the
 * supervisor's stdout, so a board's journal gets one ordered stream.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

let root: Logger | undefined;

export function rootLogger(): Logger {
  if (!root) {
    const level = (process.env.NEURITE_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
    root = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: false }));
  }
  return root;
}

export function componentLogger(component: string): Logger {
  return rootLogger().child({ component });
}

/** Writes out what is buffered; call before a deliberate exit. */
export function flushLogs(): void {
  try {
    root?.flush();
  } catch {
    // stdout may already be gone when the parent died
  }
}
