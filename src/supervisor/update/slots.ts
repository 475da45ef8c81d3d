/**
 * Where application versions live on a device and which one runs.
 *
 * <data-dir>/app/
 *   slots/a, slots/b    installed bundles (manifest.json, dist/, node_modules/)
 *   committed           the slot that starts normally: a, b or factory (absent: factory)
 *   trial               present while a new version is on trial: its slot
 *   trial-starts        how often the launcher has started the trial slot
 *   trial.json          what is on trial: version, previous slot, health window
 *   last-update.json    the outcome of the last update, with its reason
 *   rollback-data/      a copy of db/ taken before a version that migrates data ran
 *   staging/            downloads and half-written slots
 *   pending/            a downloaded, verified bundle waiting for the admin's consent
 *
 * `committed`, `trial` and `trial-starts` are one word each because the
 * launcher (a shell script, overlays/usr/libexec/neurite/launch) reads them
 * at every start. The factory version is the one in the read-only root file
 * system (/opt/neurite), updated only with the root file system.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { NEURITE_VERSION } from '../../version.js';
import type { BundleManifest } from './bundle.js';
import { fsyncDir, writeFileAtomic } from '../../platform/storage/atomic-file.js';

export type SlotName = 'a' | 'b' | 'factory';
export const APP_SLOTS = ['a', 'b'] as const;

/** The data format this build reads and writes (a number raised by any change that needs migrating). */
export const DATA_FORMAT_VERSION = 1;

export interface AppPaths {
  dataDir: string;
  appDir: string;
  slotsDir: string;
  committedFile: string;
  trialFile: string;
  trialStartsFile: string;
  trialInfoFile: string;
  lastUpdateFile: string;
  rollbackDataDir: string;
  stagingDir: string;
  pendingDir: string;
  lockFile: string;
  dataFormatFile: string;
}

export function appPaths(dataDir: string): AppPaths {
  const d = resolve(dataDir);
  const app = join(d, 'app');
  return {
    dataDir: d,
    appDir: app,
    slotsDir: join(app, 'slots'),
    committedFile: join(app, 'committed'),
    trialFile: join(app, 'trial'),
    trialStartsFile: join(app, 'trial-starts'),
    trialInfoFile: join(app, 'trial.json'),
    lastUpdateFile: join(app, 'last-update.json'),
    rollbackDataDir: join(app, 'rollback-data'),
    stagingDir: join(app, 'staging'),
    pendingDir: join(app, 'pending'),
    lockFile: join(app, 'lock'),
    dataFormatFile: join(d, 'data-format'),
  };
}

export function slotDir(p: AppPaths, slot: 'a' | 'b'): string {
  return join(p.slotsDir, slot);
}

/** The root of the factory version: set by the launcher, else the directory above this bundle's dist/. */
export function factoryRoot(): string {
  return process.env.NEURITE_FACTORY_ROOT || resolve(dirname(process.argv[1] ?? '.'), '..');
}

/**
 * The slot the server runs from, as the launcher said: in the environment of
 * the supervisor and its children, in <run dir>/slot for other processes
 * (the neurite command on the device); `dev` when no launcher started it.
 */
export function runningSlot(): SlotName | 'dev' {
  const s = process.env.NEURITE_SLOT ?? readWord(join(process.env.NEURITE_RUN_DIR || '/run/neurite', 'slot'));
  return s === 'a' || s === 'b' || s === 'factory' ? s : 'dev';
}

function readWord(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function removeDurably(file: string): void {
  if (!existsSync(file)) return;
  rmSync(file, { recursive: true, force: true });
  fsyncDir(dirname(file));
}

export function committedSlot(p: AppPaths): SlotName {
  const w = readWord(p.committedFile);
  return w === 'a' || w === 'b' ? w : 'factory';
}

export interface TrialInfo {
  slot: 'a' | 'b';
  version: string;
  from: { slot: SlotName; version: string };
  health_window_ms: number;
  data_format: number;
  requested_at: string;
}

export function currentTrial(p: AppPaths): TrialInfo | undefined {
  const w = readWord(p.trialFile);
  if (w !== 'a' && w !== 'b') return undefined;
  const info = readJson<TrialInfo>(p.trialInfoFile);
  return info && info.slot === w ? info : { slot: w, version: slotManifest(p, w)?.version ?? '?', from: { slot: committedSlot(p), version: '?' }, health_window_ms: 0, data_format: DATA_FORMAT_VERSION, requested_at: '' };
}

export function trialStarts(p: AppPaths): number {
  const n = Number(readWord(p.trialStartsFile) ?? 0);
  return Number.isInteger(n) ? n : 0;
}

export function slotManifest(p: AppPaths, slot: 'a' | 'b'): BundleManifest | undefined {
  return readJson<BundleManifest>(join(slotDir(p, slot), 'manifest.json'));
}

/** The version a slot holds: the factory's manifest (written by the image build) or this build's own version. */
export function slotVersion(p: AppPaths, slot: SlotName | 'dev'): string | undefined {
  if (slot === 'a' || slot === 'b') return slotManifest(p, slot)?.version;
  if (slot === 'factory') return readJson<BundleManifest>(join(factoryRoot(), 'manifest.json'))?.version ?? NEURITE_VERSION;
  return NEURITE_VERSION;
}

export function runningVersion(p: AppPaths): string {
  return slotVersion(p, runningSlot()) ?? NEURITE_VERSION;
}

/** The data format of the data directory: 1 until a version that migrates writes a higher one. */
export function dataFormat(p: AppPaths): number {
  const n = Number(readWord(p.dataFormatFile) ?? DATA_FORMAT_VERSION);
  return Number.isInteger(n) && n > 0 ? n : DATA_FORMAT_VERSION;
}

/** The slot a new version goes to: an app slot that neither runs nor is committed. */
export function inactiveSlot(p: AppPaths): 'a' | 'b' | undefined {
  const busy = new Set<string>([runningSlot(), committedSlot(p)]);
  return APP_SLOTS.find((s) => !busy.has(s));
}

export type UpdateOutcome = 'installed' | 'rolled-back' | 'refused' | 'failed' | 'staged';

export interface LastUpdate {
  result: UpdateOutcome;
  version?: string;
  slot?: string;
  reason?: string;
  at: string;
}

export function recordOutcome(p: AppPaths, outcome: Omit<LastUpdate, 'at'>): void {
  writeFileAtomic(p.lastUpdateFile, JSON.stringify({ ...outcome, at: new Date().toISOString() }, null, 2) + '\n');
}

export function lastUpdate(p: AppPaths): LastUpdate | undefined {
  return readJson<LastUpdate>(p.lastUpdateFile);
}

/**
 * One update at a time: an exclusive lock file holding the owner's pid, taken
 * over when that process no longer exists (a crash mid-install).
 */
export function takeLock(p: AppPaths): () => void {
  mkdirSync(p.appDir, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(p.lockFile, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(p.lockFile, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readWord(p.lockFile));
      if (owner && owner !== process.pid && pidAlive(owner)) throw new UpdateRefused(`another update is in progress (process ${owner})`);
      rmSync(p.lockFile, { force: true });
    }
  }
  throw new UpdateRefused('another update is in progress');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A refusal: a one-line reason, nothing changed. */
export class UpdateRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpdateRefused';
  }
}

export function readJsonFile<T>(file: string): T | undefined {
  return readJson<T>(file);
}
