/** `neurite start`: runs the supervisor in the foreground until SIGTERM or SIGINT. */
import { flushLogs, rootLogger } from '../../platform/logging/index.js';
import { Supervisor } from '../../supervisor/supervisor.js';
import { parseCommandArgs, portOption, requireString } from '../args.js';

export async function startCommand(args: string[], entry: string): Promise<number> {
  const { values } = parseCommandArgs(args, {
    'data-dir': { type: 'string' },
    // Only used while the data directory is unconfigured (the setup wizard's listener).
    'setup-port': { type: 'string' },
    bind: { type: 'string' },
  });
  const dataDir = requireString(values['data-dir'], '--data-dir');
  const setupPort = portOption(values['setup-port'], '--setup-port');
  const logger = rootLogger();
  const supervisor = new Supervisor({
    dataDir,
    entry,
    logger,
    ...(setupPort !== undefined ? { setupPort } : {}),
    ...(values.bind !== undefined ? { setupBind: values.bind } : {}),
  });

  let stopping: Promise<void> | undefined;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: string) => {
      if (stopping) return;
      logger.info({ component: 'supervisor', signal }, 'stopping');
      stopping = supervisor.stop().then(
        () => {
          logger.info({ component: 'supervisor' }, 'stopped');
          resolve(0);
        },
        (e: unknown) => {
          logger.error({ component: 'supervisor', err: e }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });

  try {
    await supervisor.start();
  } catch (e) {
    flushLogs();
    process.stderr.write(`neurite: cannot start: ${(e as Error).message}\n`);
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
  }
  return stopped;
}
