/** `neurite update`: apply a bundle, show the state of updates, run the scheduled check once. */
import { parseCommandArgs, UsageError } from '../args.js';
import { fetchUpdateStatus } from '../../supervisor/update/apply.js';
import { applyUpdate, approvePendingUpdate, runUpdateCheck, updateStatus, UpdateRefused, type UpdateStatus } from '../../supervisor/update/index.js';

function dataDirOf(v: unknown): string {
  const d = typeof v === 'string' && v ? v : process.env.NEURITE_DATA_DIR;
  if (!d) throw new UsageError('missing --data-dir (or NEURITE_DATA_DIR)');
  return d;
}

export function formatUpdateStatus(s: UpdateStatus): string {
  const lines = [
    `board ${s.board}; running ${s.running.version} (${s.running.slot}); committed ${s.committed.version ?? '?'} (${s.committed.slot})`,
    `slots: a ${s.slots.a ?? 'empty'}, b ${s.slots.b ?? 'empty'}${s.system.version ? `; system ${s.system.version}` : ''}`,
  ];
  if (s.trial) lines.push(`on trial: ${s.trial.version} in slot ${s.trial.slot} (started ${s.trial.starts} time(s), health window ${Math.round(s.trial.health_window_ms / 1000)} s)`);
  if (s.pending) lines.push(`waiting for approval: ${s.pending.version} (neurite update approve)`);
  if (s.last) lines.push(`last update: ${s.last.result}${s.last.version ? ` ${s.last.version}` : ''} at ${s.last.at}${s.last.reason ? `: ${s.last.reason}` : ''}`);
  return lines.join('\n') + '\n';
}

export async function updateCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'apply': {
        const { values, positionals } = parseCommandArgs(rest, { 'data-dir': { type: 'string' }, force: { type: 'boolean' }, 'no-switch': { type: 'boolean' } }, 1);
        const source = positionals[0];
        if (!source) throw new UsageError('update apply needs a bundle FILE or URL');
        const r = await applyUpdate({
          dataDir: dataDirOf(values['data-dir']),
          source,
          force: values.force === true,
          switchNow: values['no-switch'] !== true,
          // Progress on stdout: stderr holds only a refusal, in one line.
          onProgress: (l) => process.stdout.write(`${l}\n`),
        });
        process.stdout.write(`${r.message}\n`);
        return 0;
      }
      case 'status': {
        const { values } = parseCommandArgs(rest, { 'data-dir': { type: 'string' }, json: { type: 'boolean' } });
        const dataDir = dataDirOf(values['data-dir']);
        const s = (await fetchUpdateStatus(dataDir)) ?? updateStatus(dataDir);
        process.stdout.write(values.json ? JSON.stringify(s, null, 2) + '\n' : formatUpdateStatus(s));
        return 0;
      }
      case 'check': {
        const { values } = parseCommandArgs(rest, { 'data-dir': { type: 'string' } });
        const r = await runUpdateCheck({ dataDir: dataDirOf(values['data-dir']) });
        const text =
          r.outcome === 'disabled' ? 'no update URL is configured'
          : r.outcome === 'up-to-date' ? `up to date (${r.version})`
          : r.outcome === 'pending' ? `version ${r.pending.version} is downloaded and verified; approve it with: neurite update approve`
          : r.result.message;
        process.stdout.write(`${text}\n`);
        return 0;
      }
      case 'approve': {
        const { values } = parseCommandArgs(rest, { 'data-dir': { type: 'string' } });
        process.stdout.write(`${(await approvePendingUpdate(dataDirOf(values['data-dir']))).message}\n`);
        return 0;
      }
      default:
        throw new UsageError(sub ? `unknown update command ${sub}` : 'update needs a command: apply, status, check or approve');
    }
  } catch (e) {
    if (e instanceof UpdateRefused) {
      process.stderr.write(`neurite: update refused: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
