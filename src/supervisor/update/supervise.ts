/**
 * Wires updates into `neurite start`: the control request that switches to
 * a new version, and the health window of a version on trial (application
 * slot or root file system) with its commit or rollback.
 */
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { replyJson } from '../control-http.js';
import type { Supervisor } from '../supervisor.js';
import { updateStatus } from './apply.js';
import { updateControlHandlers } from './control.js';
import { finishRootfsTrial, pendingRootfsTrial } from './rauc.js';
import { appPaths, currentTrial, runningSlot } from './slots.js';
import { abandonTrial, commitTrial, healthWindowMs, onTrial, protectDataForTrial, restoreDataAfterRollback, SWITCH_EXIT_CODE, underLauncher, watchHealth } from './trial.js';

export interface UpdateSupervision {
  controlHandlers: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
  /** Before the supervisor starts its children. */
  beforeStart(): void;
  /** After start (or its failure): runs the health window of a trial; resolves with an exit code when the server must stop. */
  afterStart(startError?: Error): Promise<number | undefined>;
  /** When the server begins to stop: a health window in progress is no longer judged. */
  stopping(): void;
  /** After the supervisor stopped for a rollback: the data as the old version left it. */
  afterStop(code: number): void;
}

export function superviseUpdates(opts: {
  dataDir: string;
  logger: Logger;
  supervisor: () => Supervisor;
  /** Stops the server and ends `neurite start` with this exit code. */
  exit: (code: number) => void;
  setupPort: number;
  setupBind: string;
}): UpdateSupervision {
  const log = opts.logger.child({ component: 'update' });
  const p = appPaths(opts.dataDir);
  const trial = onTrial(opts.dataDir);
  let rolledBack = false;
  let stopped = false;

  const rollback = (reason: string) => {
    if (!trial) return;
    abandonTrial(opts.dataDir, trial, reason);
    rolledBack = true;
    log.error({ version: trial.version, reason }, 'update failed its health window; returning to the previous version');
  };

  return {
    controlHandlers: {
      ...updateControlHandlers(opts.dataDir, log),
      // The running version as the supervisor knows it (a CLI process cannot tell which slot runs).
      'GET /update/status': (_req, res) => replyJson(res, 200, updateStatus(opts.dataDir)),
      'POST /update/switch': (_req, res) => {
        const t = currentTrial(p);
        if (!underLauncher()) return replyJson(res, 409, { error: 'this server was not started by the launcher, so it cannot restart into another version' });
        if (!t || t.slot === runningSlot()) return replyJson(res, 409, { error: 'no new version is waiting to be started' });
        replyJson(res, 202, { switching_to: t.version });
        log.info({ version: t.version, slot: t.slot }, 'restarting into the new version');
        opts.exit(SWITCH_EXIT_CODE);
      },
    },
    beforeStart() {
      if (trial) {
        log.info({ version: trial.version, slot: trial.slot, window_ms: trial.health_window_ms }, 'this version is on trial');
        protectDataForTrial(opts.dataDir, trial);
      }
    },
    async afterStart(startError) {
      const target = () => {
        const s = opts.supervisor();
        return { status: () => s.status(), config: s.serverConfig, setupPort: opts.setupPort, setupBind: opts.setupBind };
      };
      if (trial) {
        if (startError) {
          rollback(`it did not start (${startError.message})`);
          return SWITCH_EXIT_CODE;
        }
        const result = await watchHealth(target(), trial.health_window_ms || healthWindowMs(), { aborted: () => stopped });
        if (stopped && !rolledBack) return undefined;
        if (result.ok) {
          commitTrial(opts.dataDir, trial);
          log.info({ version: trial.version, slot: trial.slot }, 'update committed: the new version stayed healthy');
          return undefined;
        }
        rollback(result.reason);
        return SWITCH_EXIT_CODE;
      }
      const rootfs = pendingRootfsTrial(opts.dataDir);
      if (rootfs && !startError) {
        const result = await watchHealth(target(), healthWindowMs(), { aborted: () => stopped });
        if (stopped) return undefined;
        const verdict = await finishRootfsTrial(opts.dataDir, rootfs, result);
        if (verdict === 'reboot') {
          log.error({ version: rootfs.version }, 'system update failed its health window; rebooting into the previous system');
          execFile('reboot', () => {});
          return 0;
        }
        log.info({ version: rootfs.version }, 'system update committed');
      }
      return undefined;
    },
    stopping() {
      stopped = true;
    },
    afterStop(code) {
      if (rolledBack && code === SWITCH_EXIT_CODE) restoreDataAfterRollback(p);
    },
  };
}
