/**
 * `neurite user add NAME --password P [--admin] --data-dir DIR`: creates an
 * account. With the server running, the supervisor passes the request to
 * the UserAPI; with it stopped, the UserAPI's database is opened directly.
 */
import { loadConfig } from '../../platform/config/load.js';
import { dataPaths } from '../../platform/config/paths.js';
import { DatabaseLockedError } from '../../platform/storage/errors.js';
import { controlRequest, noSupervisor } from '../../supervisor/control-http.js';
import { parseCommandArgs, requireString, UsageError } from '../args.js';

type Answer = { status: number; body: { user_id?: string; errcode?: string; error?: string } };

/** POST /users on the control socket; undefined when no supervisor listens there. */
async function askSupervisor(controlSocket: string, payload: unknown): Promise<Answer | undefined> {
  const a = await controlRequest(controlSocket, 'POST', '/users', { timeoutMs: 30_000, json: payload }).catch((e: unknown) => {
    if (noSupervisor(e)) return undefined;
    throw e;
  });
  if (!a) return undefined;
  if (a.json === undefined) throw new Error(`the supervisor answered ${a.status} without JSON`);
  return { status: a.status, body: a.json as Answer['body'] };
}

export async function userCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { 'data-dir': { type: 'string' }, password: { type: 'string' }, admin: { type: 'boolean' } }, 2);
  const [action, name] = positionals;
  if (action !== 'add') throw new UsageError(action === undefined ? 'missing user action (add)' : `unknown user action ${action}`);
  if (name === undefined || name === '') throw new UsageError('missing the user name');
  const paths = dataPaths(requireString(values['data-dir'], '--data-dir'));
  const password = requireString(values.password, '--password');
  const admin = values.admin === true;
  const config = loadConfig(paths.dataDir);
  if (!config) {
    process.stderr.write(`neurite: ${paths.dataDir} is not initialised (run neurite init first)\n`);
    return 1;
  }

  let userId: string;
  const answer = await askSupervisor(paths.controlSocket, { username: name, password, admin });
  if (answer) {
    if (answer.status !== 200 || !answer.body.user_id) {
      process.stderr.write(`neurite: cannot add ${name}: ${answer.body.error ?? `status ${answer.status}`}${answer.body.errcode ? ` (${answer.body.errcode})` : ''}\n`);
      return 1;
    }
    userId = answer.body.user_id;
  } else {
    const { addUserOffline } = await import('../../components/userapi/offline.js');
    try {
      userId = (await addUserOffline({ dataDir: paths.dataDir, config, username: name, password, admin })).user_id;
    } catch (e) {
      if (e instanceof DatabaseLockedError) {
        process.stderr.write(`neurite: the server holds ${paths.dataDir} but its control socket does not answer; try again once it has started\n`);
        return 1;
      }
      const mx = e as { errcode?: string; message: string };
      process.stderr.write(`neurite: cannot add ${name}: ${mx.message}${mx.errcode ? ` (${mx.errcode})` : ''}\n`);
      return 1;
    }
  }
  process.stdout.write(`Created ${userId}${admin ? ' (admin)' : ''}\n`);
  return 0;
}
