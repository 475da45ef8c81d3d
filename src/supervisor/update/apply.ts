/**
 * The update entry points that the CLI, the dashboard and the scheduled
 * check share: apply a bundle (file or URL), report the state of updates.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dataPaths } from '../../platform/config/paths.js';
import { controlRequest } from '../control-http.js';
import { isAppBundle } from './bundle.js';
import { installBundle, type VerifyOptions } from './install.js';
import { currentBoard, trustedKeys } from './keys.js';
import { installRootfsBundle, isRaucBundle, osVersion } from './rauc.js';
import {
  APP_SLOTS,
  appPaths,
  committedSlot,
  currentTrial,
  lastUpdate,
  runningSlot,
  runningVersion,
  slotVersion,
  trialStarts,
  UpdateRefused,
  readJsonFile,
  removeDurably,
  type LastUpdate,
  type SlotName,
  type TrialInfo,
} from './slots.js';
import { beginTrial, requestSwitch } from './trial.js';

/** Largest bundle accepted (an application bundle is about 15 MB, a root file system a few hundred). */
export const MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;

export interface ApplyOptions {
  dataDir: string;
  /** A bundle file, or an http(s) URL to download it from. */
  source: string;
  /** Install even when the version is not newer than the running one. */
  force?: boolean;
  /** Restart into the new version right away (default); false leaves it for the next start. */
  switchNow?: boolean;
  /** Overrides for tests and development machines. */
  trustedKeys?: Uint8Array[];
  board?: string;
  /** Progress lines for a person watching. */
  onProgress?: (line: string) => void;
  /** Delete `source` afterwards, installed or refused (an upload written to uploadPath()). */
  deleteSource?: boolean;
}

export interface ApplyResult {
  kind: 'application' | 'system';
  version: string;
  /** a or b for the application, A or B for the root file system. */
  slot: string;
  /** True when the running server is restarting into the new version now. */
  switching: boolean;
  message: string;
}

/** Downloads a URL into staging/, refusing more than MAX_BUNDLE_BYTES or a body shorter than announced. */
export async function download(url: string, dataDir: string, onProgress?: (l: string) => void): Promise<string> {
  const file = join(appPaths(dataDir).stagingDir, `download-${randomBytes(6).toString('hex')}.part`);
  mkdirSync(appPaths(dataDir).stagingDir, { recursive: true });
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(30 * 60_000) });
  } catch (e) {
    throw new UpdateRefused(`cannot download ${url}: ${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}`);
  }
  if (!res.ok || !res.body) throw new UpdateRefused(`cannot download ${url}: HTTP ${res.status}`);
  const announced = Number(res.headers.get('content-length') ?? NaN);
  if (announced > MAX_BUNDLE_BYTES) throw new UpdateRefused(`the download is ${announced} bytes, more than the ${MAX_BUNDLE_BYTES} accepted`);
  onProgress?.(`downloading ${url}${Number.isFinite(announced) ? ` (${(announced / 1e6).toFixed(1)} MB)` : ''}`);
  let got = 0;
  try {
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    body.on('data', (c: Buffer) => {
      got += c.length;
      if (got > MAX_BUNDLE_BYTES) body.destroy(new UpdateRefused(`the download exceeds ${MAX_BUNDLE_BYTES} bytes`));
    });
    await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  } catch (e) {
    rmSync(file, { force: true });
    if (e instanceof UpdateRefused) throw e;
    throw new UpdateRefused(`the download of ${url} broke off after ${got} bytes (${(e as Error).message})`);
  }
  if (Number.isFinite(announced) && got !== announced) {
    rmSync(file, { force: true });
    throw new UpdateRefused(`the download of ${url} is truncated: ${got} of ${announced} bytes`);
  }
  return file;
}

async function readHead(file: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new UpdateRefused(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await fh.read(buf, 0, 64, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Verifies a bundle and installs it into the inactive slot, then (by
 * default) asks the running supervisor to switch to it. Throws UpdateRefused
 * with a one-line reason when anything is wrong; nothing the running system
 * uses changes before every check has passed.
 */
export async function applyUpdate(opts: ApplyOptions): Promise<ApplyResult> {
  const p = appPaths(opts.dataDir);
  const created = [p.appDir, p.stagingDir].filter((d) => !existsSync(d));
  try {
    return await applyFrom(opts);
  } catch (e) {
    // A refusal leaves no trace, not even the directories a download needed.
    for (const d of created.reverse()) rmSync(d, { recursive: true, force: true });
    throw e;
  } finally {
    if (opts.deleteSource && !/^https?:\/\//i.test(opts.source)) rmSync(opts.source, { force: true });
  }
}

async function applyFrom(opts: ApplyOptions): Promise<ApplyResult> {
  const isUrl = /^https?:\/\//i.test(opts.source);
  const file = isUrl ? await download(opts.source, opts.dataDir, opts.onProgress) : opts.source;
  try {
    const head = await readHead(file);
    if (isRaucBundle(head)) {
      opts.onProgress?.('verifying and installing the system (RAUC) bundle');
      const t = await installRootfsBundle(file, opts.dataDir, { force: opts.force ?? false });
      const base = `system ${t.version} installed in root slot ${t.bootname}`;
      if (opts.switchNow === false) return { kind: 'system', version: t.version, slot: t.bootname, switching: false, message: `${base}; it boots at the next restart and is kept only if it proves healthy` };
      // Through init, so that Neurite stops cleanly first; a moment later, so that the caller can answer.
      setTimeout(() => execFile('reboot', () => {}), 2000);
      return { kind: 'system', version: t.version, slot: t.bootname, switching: true, message: `${base}; rebooting into it, it is kept only if it proves healthy` };
    }
    if (!isAppBundle(head)) throw new UpdateRefused('not an update bundle (neither a Neurite application bundle nor a RAUC bundle)');
    const verify: VerifyOptions = { trustedKeys: opts.trustedKeys ?? trustedKeys(), board: opts.board ?? currentBoard(), force: opts.force ?? false };
    opts.onProgress?.('verifying the signature and every file, installing into the inactive slot');
    const installed = await installBundle(file, opts.dataDir, verify);
    const trial = beginTrial(opts.dataDir, installed);
    const base = `version ${installed.manifest.version} installed in slot ${installed.slot}`;
    if (opts.switchNow === false) return { kind: 'application', version: trial.version, slot: trial.slot, switching: false, message: `${base}; it starts on trial at the next start` };
    let switching: boolean;
    try {
      switching = await requestSwitch(dataPaths(opts.dataDir).controlSocket);
    } catch (e) {
      // The supervisor cannot switch (not started by the launcher): leave no trial behind.
      const p = appPaths(opts.dataDir);
      removeDurably(p.trialFile);
      removeDurably(p.trialStartsFile);
      removeDurably(p.trialInfoFile);
      throw e;
    }
    return {
      kind: 'application',
      version: trial.version,
      slot: trial.slot,
      switching,
      message: switching
        ? `${base}; Neurite is restarting into it and keeps it only if it stays healthy for ${Math.round(trial.health_window_ms / 1000)} s`
        : `${base}; Neurite is not running, it starts on trial at the next start`,
    };
  } finally {
    if (isUrl) rmSync(file, { force: true });
  }
}

export interface UpdateStatus {
  board: string;
  running: { slot: SlotName | 'dev'; version: string };
  committed: { slot: SlotName; version: string | undefined };
  slots: Record<'a' | 'b', string | null>;
  trial: (TrialInfo & { starts: number }) | null;
  system: { version: string | undefined; trial: unknown };
  pending: PendingUpdate | null;
  last: LastUpdate | null;
}

export interface PendingUpdate {
  version: string;
  file: string;
  url: string;
  notes?: string;
  found_at: string;
}

/** The status as the running supervisor reports it (it knows which slot runs); undefined when none runs. */
export async function fetchUpdateStatus(dataDir: string): Promise<UpdateStatus | undefined> {
  const a = await controlRequest(dataPaths(dataDir).controlSocket, 'GET', '/update/status', { timeoutMs: 5000 }).catch(() => undefined);
  return a?.status === 200 ? (a.json as UpdateStatus | undefined) : undefined;
}

/** Everything the dashboard shows about updates; reads files only, so it works with the server stopped. */
export function updateStatus(dataDir: string): UpdateStatus {
  const p = appPaths(dataDir);
  const trial = currentTrial(p);
  const committed = committedSlot(p);
  const pending = readJsonFile<PendingUpdate>(join(p.pendingDir, 'pending.json'));
  return {
    board: currentBoard(),
    running: { slot: runningSlot(), version: runningVersion(p) },
    committed: { slot: committed, version: slotVersion(p, committed) },
    slots: Object.fromEntries(APP_SLOTS.map((s) => [s, slotVersion(p, s) ?? null])) as Record<'a' | 'b', string | null>,
    trial: trial ? { ...trial, starts: trialStarts(p) } : null,
    system: { version: osVersion(), trial: readJsonFile(join(p.appDir, 'rootfs-trial.json')) ?? null },
    pending: pending && existsSync(pending.file) ? pending : null,
    last: lastUpdate(p) ?? null,
  };
}
