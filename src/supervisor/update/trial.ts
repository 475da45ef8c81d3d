/**
 * The supervisor's side of an update: switching to a new version, watching
 * it for a health window, and committing it or returning to the previous one
 * by itself.
 *
 * Switching is a restart: the supervisor stops every process and exits with
 * SWITCH_EXIT_CODE; the launcher (overlays/usr/libexec/neurite/launch), run
 * again by its service loop, starts the slot named in `trial`. The new
 * version's supervisor sees that it is the trial and watches itself. A
 * version too broken to judge itself never clears the trial, and the
 * launcher gives up on it after TRIAL_MAX_STARTS starts.
 */
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { NeuriteConfig } from '../../platform/config/schema.js';
import { controlRequest, noSupervisor } from '../control-http.js';
import type { SupervisorStatus } from '../supervisor.js';
import type { Installed } from './install.js';
import {
  appPaths,
  committedSlot,
  currentTrial,
  dataFormat,
  recordOutcome,
  removeDurably,
  runningSlot,
  runningVersion,
  slotVersion,
  UpdateRefused,
  type AppPaths,
  type TrialInfo,
} from './slots.js';
import { fsyncDir, writeFileAtomic } from '../../platform/storage/atomic-file.js';

/** The supervisor's exit code that asks the launcher to start the selected slot. */
export const SWITCH_EXIT_CODE = 75;
/** Starts of a trial version after which the launcher returns to the committed one (as Home Assistant OS counts boots). */
export const TRIAL_MAX_STARTS = 3;
export const DEFAULT_HEALTH_WINDOW_MS = 120_000;

export function healthWindowMs(): number {
  const v = Number(process.env.NEURITE_HEALTH_WINDOW_MS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_HEALTH_WINDOW_MS;
}

/** True when a launcher started this process, so that exiting with SWITCH_EXIT_CODE restarts it in another slot. */
export function underLauncher(): boolean {
  const s = process.env.NEURITE_SLOT;
  return s === 'a' || s === 'b' || s === 'factory';
}

/** Puts an installed slot on trial; the launcher starts it at the next start. */
export function beginTrial(dataDir: string, installed: Installed, windowMs = healthWindowMs()): TrialInfo {
  const p = appPaths(dataDir);
  const from = committedSlot(p);
  const info: TrialInfo = {
    slot: installed.slot,
    version: installed.manifest.version,
    from: { slot: from, version: slotVersion(p, from) ?? '?' },
    health_window_ms: windowMs,
    data_format: installed.manifest.data_format,
    requested_at: new Date().toISOString(),
  };
  writeFileAtomic(p.trialInfoFile, JSON.stringify(info, null, 2) + '\n');
  writeFileAtomic(p.trialStartsFile, '0\n');
  // Written last: the trial exists once this word is on disk.
  writeFileAtomic(p.trialFile, `${installed.slot}\n`);
  return info;
}

/** Whether this process is the version on trial. */
export function onTrial(dataDir: string): TrialInfo | undefined {
  const t = currentTrial(appPaths(dataDir));
  return t && runningSlot() === t.slot ? t : undefined;
}

/**
 * Before a trial version that writes a newer data format starts its
 * components: a copy of the databases, so that a rollback returns the old
 * version to the data it knows. Media files are not rewritten by migrations
 * and are not copied.
 */
export function protectDataForTrial(dataDir: string, trial: TrialInfo): void {
  const p = appPaths(dataDir);
  if (trial.data_format <= dataFormat(p)) return;
  const ready = join(p.rollbackDataDir, 'ready');
  if (existsSync(ready)) return;
  rmSync(p.rollbackDataDir, { recursive: true, force: true });
  const db = join(p.dataDir, 'db');
  if (existsSync(db)) cpSync(db, join(p.rollbackDataDir, 'db'), { recursive: true });
  writeFileAtomic(join(p.rollbackDataDir, 'data-format'), `${dataFormat(p)}\n`);
  // Names the trial's slot, so that a committed trial never has this copy put back.
  writeFileAtomic(ready, `${trial.slot}\n`);
}

/** Puts back the databases saved before a trial (the launcher does the same when a trial never came up). */
export function restoreDataAfterRollback(p: AppPaths): void {
  const ready = join(p.rollbackDataDir, 'ready');
  if (!existsSync(ready)) return;
  const db = join(p.dataDir, 'db');
  const saved = join(p.rollbackDataDir, 'db');
  if (existsSync(saved)) {
    rmSync(`${db}.failed`, { recursive: true, force: true });
    if (existsSync(db)) renameSync(db, `${db}.failed`);
    renameSync(saved, db);
  }
  const format = join(p.rollbackDataDir, 'data-format');
  if (existsSync(format)) renameSync(format, p.dataFormatFile);
  fsyncDir(p.dataDir);
  removeDurably(p.rollbackDataDir);
  rmSync(`${db}.failed`, { recursive: true, force: true });
}

export function commitTrial(dataDir: string, trial: TrialInfo): void {
  const p = appPaths(dataDir);
  writeFileAtomic(p.committedFile, `${trial.slot}\n`);
  removeDurably(p.trialFile);
  removeDurably(p.trialStartsFile);
  removeDurably(p.trialInfoFile);
  removeDurably(p.rollbackDataDir);
  recordOutcome(p, { result: 'installed', version: trial.version, slot: trial.slot });
}

/** Ends a trial in failure: the launcher starts the committed version next, and the dashboard shows why. */
export function abandonTrial(dataDir: string, trial: TrialInfo, reason: string): void {
  const p = appPaths(dataDir);
  removeDurably(p.trialFile);
  removeDurably(p.trialStartsFile);
  removeDurably(p.trialInfoFile);
  recordOutcome(p, { result: 'rolled-back', version: trial.version, slot: trial.slot, reason: `version ${trial.version} was rolled back to ${trial.from.version}: ${reason}` });
}

export type HealthResult = { ok: true } | { ok: false; reason: string };

export interface HealthTarget {
  status(): SupervisorStatus;
  config: NeuriteConfig | undefined;
  /** The setup port of an unconfigured server. */
  setupPort: number;
  setupBind: string;
}

const loopback = (bind: string) => (bind === '0.0.0.0' || bind === '' ? '127.0.0.1' : bind === '::' ? '::1' : bind);

/** GET that resolves with the status code, or undefined when nothing answered. */
function probe(host: string, port: number, path: string, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The public endpoint that proves the server answers: /versions, or the setup page before configuration. */
export function healthEndpoint(t: HealthTarget): { host: string; port: number; path: string } {
  return t.config
    ? { host: loopback(t.config.bind), port: t.config.client_port, path: '/_matrix/client/versions' }
    : { host: loopback(t.setupBind), port: t.setupPort, path: '/' };
}

/**
 * Healthy: for the whole window every process stays running without a
 * restart, and the public endpoint answers 200 during the window and at its end.
 */
export async function watchHealth(t: HealthTarget, windowMs: number, opts: { pollMs?: number; aborted?: () => boolean } = {}): Promise<HealthResult> {
  const pollMs = opts.pollMs ?? 1000;
  const ep = healthEndpoint(t);
  const start = Date.now();
  const first = new Map(t.status().processes.map((p) => [p.name, p.restarts]));
  let answered = false;
  for (;;) {
    if (opts.aborted?.()) return { ok: false, reason: 'the server was stopped during the health window' };
    for (const p of t.status().processes) {
      if (p.state !== 'running') return { ok: false, reason: `process ${p.name} is ${p.state}${p.last_exit ? ` (exit ${p.last_exit.signal ?? `code ${p.last_exit.code}`})` : ''} during the health window` };
      if (p.restarts !== first.get(p.name)) return { ok: false, reason: `process ${p.name} restarted during the health window` };
    }
    const code = await probe(ep.host, ep.port, ep.path, Math.min(5000, pollMs * 3));
    if (code === 200) answered = true;
    if (Date.now() - start >= windowMs) {
      if (code === 200) return { ok: true };
      return { ok: false, reason: answered ? `${ep.path} stopped answering (status ${code ?? 'none'})` : `${ep.path} never answered during the ${Math.round(windowMs / 1000)} s health window` };
    }
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, windowMs - (Date.now() - start)))));
  }
}

/** Asks the running supervisor to switch to the version on trial; false when no supervisor runs. */
export async function requestSwitch(controlSocket: string): Promise<boolean> {
  let a;
  try {
    a = await controlRequest(controlSocket, 'POST', '/update/switch', { timeoutMs: 10_000 });
  } catch (e) {
    if (noSupervisor(e)) return false;
    throw e;
  }
  if (a.status === 202) return true;
  throw new UpdateRefused((a.json as { error?: string } | undefined)?.error ?? a.text);
}

export { runningVersion };
