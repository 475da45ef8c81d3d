/** `neurite start`: runs the supervisor in the foreground until SIGTERM or SIGINT. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { flushLogs, rootLogger } from '../../platform/logging/index.js';
import { runAsFromEnv, type RunAs } from '../../supervisor/privileges.js';
import { useInterpreterOnly } from '../../supervisor/node-flags.js';
import { Supervisor } from '../../supervisor/supervisor.js';
import { superviseUpdates } from '../../supervisor/update/supervise.js';
import { parseCommandArgs, portOption, requireString } from '../args.js';

export async function startCommand(args: string[], entry: string): Promise<number> {
  const { values } = parseCommandArgs(args, {
    'data-dir': { type: 'string' },
    // Only used while the data directory is unconfigured (the setup wizard's listener).
    'setup-port': { type: 'string' },
    bind: { type: 'string' },
  });
  const dataDir = requireString(values['data-dir'], '--data-dir');
  useInterpreterOnly();
  const setupPort = portOption(values['setup-port'], '--setup-port');
  const logger = rootLogger();
  let runAs: RunAs | undefined;
  try {
    runAs = runAsFromEnv();
  } catch (e) {
    process.stderr.write(`neurite: cannot start: ${(e as Error).message}\n`);
    return 1;
  }

  let stopping: Promise<void> | undefined;
  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  // Stops every process, then ends with `code` (a signal: 0; an update switch or rollback: the launcher's code).
  const stop = (reason: string, code: number) => {
    if (stopping) return;
    logger.info({ component: 'supervisor', reason }, 'stopping');
    updates.stopping();
    stopping = supervisor.stop().then(
      () => {
        updates.afterStop(code);
        logger.info({ component: 'supervisor' }, 'stopped');
        // A stdin kept open for NEURITE_STOP_ON_STDIN_CLOSE must not keep the process alive.
        process.stdin.destroy();
        resolveStopped(code);
      },
      (e: unknown) => {
        logger.error({ component: 'supervisor', err: e }, 'stop failed');
        resolveStopped(1);
      },
    );
  };
  const updates = superviseUpdates({
    dataDir,
    logger,
    supervisor: () => supervisor,
    exit: (code) => stop('update', code),
    setupPort: setupPort ?? 8080,
    setupBind: values.bind ?? '0.0.0.0',
  });
  const supervisor = new Supervisor({
    dataDir,
    entry,
    logger,
    ...(setupPort !== undefined ? { setupPort } : {}),
    ...(values.bind !== undefined ? { setupBind: values.bind } : {}),
    ...(runAs ? { runAs } : {}),
    controlHandlers: updates.controlHandlers,
  });
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => stop('SIGINT', 0));
  // For programs that run Neurite as their child (test harnesses): when the
  // pipe on stdin closes — the parent is gone, however it died — stop too.
  if (process.env.NEURITE_STOP_ON_STDIN_CLOSE === '1') {
    process.stdin.on('end', () => stop('stdin closed', 0));
    process.stdin.on('error', () => stop('stdin closed', 0));
    process.stdin.resume();
  }

  updates.beforeStart();
  try {
    await supervisor.start();
  } catch (e) {
    flushLogs();
    process.stderr.write(`neurite: cannot start: ${(e as Error).message}\n`);
    const code = await updates.afterStart(e as Error);
    if (code !== undefined) {
      updates.afterStop(code);
      return code;
    }
    return 1;
  }
  const c = supervisor.serverConfig;
  const host = (bind: string) => (bind === '0.0.0.0' || bind === '::' ? 'localhost' : bind.includes(':') ? `[${bind}]` : bind);
  if (c) {
    const scheme = c.tls.mode === 'off' ? 'http' : 'https';
    process.stderr.write(
      `Neurite is running as ${c.server_name}.\n` +
        `  client API (LAN):  http://${host(c.bind)}:${c.client_port}/_matrix/client/versions\n` +
        `  federation + client (TLS): ${scheme}://${host(c.bind)}:${c.federation_port}/_matrix/key/v2/server\n` +
        `  setup and dashboard: http://${host(c.bind)}:${c.setup_port}/\n`,
    );
  } else {
    // The wizard's component wrote the code when it started; the console is one of the two places it is shown.
    const code = readSetupCode(supervisor.paths.dataDir);
    const port = setupPort ?? 8080;
    process.stderr.write(
      `Neurite is not set up yet. Open the setup wizard in a browser:\n` +
        `  http://${host(values.bind ?? '0.0.0.0')}:${port}/\n` +
        (code ? `  setup code: ${code}  (also in ${join(supervisor.paths.dataDir, 'setup-code.txt')})\n` : ''),
    );
  }
  void updates.afterStart().then(
    (code) => code !== undefined && stop('update health window', code),
    (e: unknown) => logger.error({ component: 'update', err: e }, 'update supervision failed'),
  );
  return stopped;
}

function readSetupCode(dataDir: string): string | undefined {
  const file = join(dataDir, 'setup-code.txt');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
