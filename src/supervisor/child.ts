/**
 * The child side of the supervisor: runs one process group, tells the
 * supervisor when it is ready (or why it cannot start), stops cleanly when
 * asked, and exits when the supervisor goes away so that no orphan keeps a
 * database locked.
 */
import { flushLogs, rootLogger } from '../platform/logging/index.js';
import { dataPaths } from '../platform/config/paths.js';
import { startIdleRelease } from '../platform/memory/idle-release.js';
import { loadMemoryAddon } from '../platform/memory/native.js';
import { runProcessGroup, type RunningGroup } from '../platform/runtime/host.js';
import { readTablesWithoutMmap } from '../platform/storage/table-reads.js';
import type { ComponentLoader } from '../platform/runtime/component.js';
import { applyRuntimeFlags, childRuntimeFlags } from './node-flags.js';
import { CHILD_ENV, type ChildMessage, type ChildSetup, type SupervisorMessage } from './protocol.js';

function send(m: ChildMessage): void {
  process.send?.(m);
}

export async function runChild(loader: ComponentLoader): Promise<void> {
  const setup = JSON.parse(process.env[CHILD_ENV] ?? 'null') as ChildSetup | null;
  if (!setup || !process.send) {
    process.stderr.write('neurite: this command is only run by the supervisor\n');
    process.exit(2);
  }
  const logger = rootLogger().child({ process: setup.group });
  const group = setup.layout.find((g) => g.name === setup.group);
  if (!group) {
    send({ type: 'fatal', message: `unknown process group ${setup.group}` });
    process.exit(1);
  }
  // Before the components load, after Node's own modules have (see node-flags.ts).
  applyRuntimeFlags(childRuntimeFlags(group, setup.layout));
  // Ctrl-C reaches the whole foreground process group; the supervisor decides the order of stopping.
  process.on('SIGINT', () => {});

  let running: RunningGroup | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= (async () => {
      try {
        await running?.stop();
      } catch (e) {
        logger.error({ err: e }, 'stop failed');
        code = 1;
      }
      flushLogs();
      process.exit(code);
    })();
    return stopping;
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('disconnect', () => void stop(0));
  process.on('message', (m: SupervisorMessage) => {
    if (m?.type === 'stop') void stop(0);
  });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception; the supervisor will restart this process');
    flushLogs();
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection; the supervisor will restart this process');
    flushLogs();
    process.exit(70);
  });

  // Before any database opens (see table-reads.ts).
  const memory = loadMemoryAddon();
  if ('error' in memory) logger.warn({ reason: memory.error }, 'the memory addon is not loaded: LevelDB maps its tables and free heap memory stays with this process');
  else {
    const tables = readTablesWithoutMmap(memory.addon);
    if ('error' in tables) logger.warn({ reason: tables.error }, 'LevelDB reads its tables through mmap in this process');
  }

  try {
    running = await runProcessGroup({
      group,
      layout: setup.layout,
      configured: setup.configured,
      config: setup.config,
      paths: dataPaths(setup.dataDir),
      loader,
      logger,
    });
  } catch (e) {
    logger.error({ err: e }, 'process group failed to start');
    send({ type: 'fatal', message: (e as Error).message });
    flushLogs();
    process.exit(1);
  }
  if (stopping) return;
  if ('addon' in memory) startIdleRelease(memory.addon);
  send({ type: 'ready' });
}
