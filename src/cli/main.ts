/**
 * The `neurite` command. Children of the supervisor run through the same
 * entry point with the internal `__child` command.
 */
import { ConfigError } from '../platform/config/schema.js';
import type { ComponentLoader } from '../platform/runtime/component.js';
import { CHILD_COMMAND } from '../supervisor/protocol.js';
import { NEURITE_VERSION } from '../version.js';
import { UsageError } from './args.js';
import { INIT_USAGE, UPDATE_USAGE, USER_USAGE } from './usage.js';

const USAGE = `Neurite ${NEURITE_VERSION}: a Matrix homeserver appliance

usage:
  ${INIT_USAGE}
  neurite start --data-dir DIR      (foreground; SIGTERM or SIGINT stops it)
  neurite status --data-dir DIR [--json]
  ${USER_USAGE}
  ${UPDATE_USAGE}
  neurite version
`;

export async function main(argv: string[], entry: string, loader: ComponentLoader): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'init':
        return (await import('./commands/init.js')).initCommand(args);
      case 'start':
        return await (await import('./commands/start.js')).startCommand(args, entry);
      case 'status':
        return await (await import('./commands/status.js')).statusCommand(args);
      case 'user':
        return await (await import('./commands/user.js')).userCommand(args);
      case 'update':
        return await (await import('./commands/update.js')).updateCommand(args);
      case CHILD_COMMAND:
        await (await import('../supervisor/child.js')).runChild(loader);
        return -1;
      case 'version':
      case '--version':
        process.stdout.write(`${NEURITE_VERSION}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`neurite: ${e.message} (see neurite --help)\n`);
      return 2;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`neurite: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`neurite: ${(e as Error).message}\n`);
    return 1;
  }
}
