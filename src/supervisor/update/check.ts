/**
 * The scheduled update check. An update URL serves a small JSON document:
 *
 *   { "version": "0.2.0", "url": "https://…/neurite-app-0.2.0.nab", "notes": "…" }
 *
 * (`url` may be relative to the document.) A newer version is downloaded and
 * verified completely, then either installed (automatic updates on) or kept
 * in app/pending/ until the admin agrees in the dashboard
 * (approvePendingUpdate). Nothing is installed without consent otherwise.
 * The maintenance component runs the check on its schedule (jobs/update-check.ts).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyUpdate, download, updateStatus, type ApplyResult, type PendingUpdate } from './apply.js';
import { verifyBundleFile } from './install.js';
import { currentBoard, trustedKeys } from './keys.js';
import { appPaths, readJsonFile, runningVersion, UpdateRefused } from './slots.js';
import { writeFileAtomic } from '../../platform/storage/atomic-file.js';
import { compareVersions, isVersion } from './version.js';

export interface UpdateSettings {
  /** Where the release document is; empty: no checks. */
  url: string;
  /** Install a verified newer version without asking. */
  automatic: boolean;
}

export const DEFAULT_UPDATE_SETTINGS: UpdateSettings = { url: '', automatic: false };

const settingsFile = (dataDir: string) => join(appPaths(dataDir).appDir, 'settings.json');

export function readUpdateSettings(dataDir: string): UpdateSettings {
  const f = readJsonFile<Partial<UpdateSettings>>(settingsFile(dataDir)) ?? {};
  return { url: typeof f.url === 'string' ? f.url : DEFAULT_UPDATE_SETTINGS.url, automatic: typeof f.automatic === 'boolean' ? f.automatic : DEFAULT_UPDATE_SETTINGS.automatic };
}

export function writeUpdateSettings(dataDir: string, s: Partial<UpdateSettings>): UpdateSettings {
  const next = { ...readUpdateSettings(dataDir), ...s };
  if (next.url && !/^https?:\/\//i.test(next.url)) throw new UpdateRefused('the update URL must start with http:// or https://');
  writeFileAtomic(settingsFile(dataDir), JSON.stringify(next, null, 2) + '\n');
  return next;
}

export type CheckResult =
  | { outcome: 'disabled' }
  | { outcome: 'up-to-date'; version: string }
  | { outcome: 'pending'; pending: PendingUpdate }
  | { outcome: 'installed'; result: ApplyResult };

export interface CheckOptions {
  dataDir: string;
  settings?: UpdateSettings;
  trustedKeys?: Uint8Array[];
  board?: string;
}

/** One run of the check; throws UpdateRefused (one line) when the release cannot be used. */
export async function runUpdateCheck(opts: CheckOptions): Promise<CheckResult> {
  const settings = opts.settings ?? readUpdateSettings(opts.dataDir);
  if (!settings.url) return { outcome: 'disabled' };
  let doc: { version?: unknown; url?: unknown; notes?: unknown };
  try {
    const res = await fetch(settings.url, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = (await res.json()) as typeof doc;
  } catch (e) {
    throw new UpdateRefused(`the update check at ${settings.url} failed: ${(e as Error).message}`);
  }
  if (!isVersion(doc.version) || typeof doc.url !== 'string') throw new UpdateRefused(`${settings.url} does not describe a release (version and url)`);
  const p = appPaths(opts.dataDir);
  const running = runningVersion(p);
  if (compareVersions(doc.version, running) <= 0) return { outcome: 'up-to-date', version: running };
  const status = updateStatus(opts.dataDir);
  if (status.pending?.version === doc.version && !settings.automatic) return { outcome: 'pending', pending: status.pending };
  if (status.trial) throw new UpdateRefused(`version ${status.trial.version} is still on trial`);
  const bundleUrl = new URL(doc.url, settings.url).toString();
  const verify = { trustedKeys: opts.trustedKeys ?? trustedKeys(), board: opts.board ?? currentBoard() };
  const file = await download(bundleUrl, opts.dataDir);
  try {
    const manifest = await verifyBundleFile(file, opts.dataDir, verify);
    if (manifest.version !== doc.version) throw new UpdateRefused(`the bundle holds version ${manifest.version}, the release document says ${doc.version}`);
    if (settings.automatic) {
      const result = await applyUpdate({ dataDir: opts.dataDir, source: file, ...verify });
      return { outcome: 'installed', result };
    }
    mkdirSync(p.pendingDir, { recursive: true });
    const kept = join(p.pendingDir, `neurite-${manifest.version}.bundle`);
    renameSync(file, kept);
    const pending: PendingUpdate = { version: manifest.version, file: kept, url: bundleUrl, found_at: new Date().toISOString(), ...(typeof doc.notes === 'string' ? { notes: doc.notes } : {}) };
    writeFileSync(join(p.pendingDir, 'pending.json'), JSON.stringify(pending, null, 2) + '\n');
    return { outcome: 'pending', pending };
  } finally {
    rmSync(file, { force: true });
  }
}

/** The admin's consent to a pending update: installs it and switches to it. */
export async function approvePendingUpdate(dataDir: string, overrides: { trustedKeys?: Uint8Array[]; board?: string } = {}): Promise<ApplyResult> {
  const pending = updateStatus(dataDir).pending;
  if (!pending) throw new UpdateRefused('no update is waiting for approval');
  const result = await applyUpdate({ dataDir, source: pending.file, ...overrides });
  rmSync(appPaths(dataDir).pendingDir, { recursive: true, force: true });
  return result;
}
