/**
 * Updates as the homeserver's own processes ask for them: through the
 * supervisor's control socket, never by writing the slots themselves. On
 * the device those processes run unprivileged (src/supervisor/privileges.ts)
 * and the supervisor, as root, receives the bundle, verifies and installs
 * it; an uploaded bundle is streamed straight to it, so no file a process
 * could still change after the check is ever installed.
 */
import type { Readable } from 'node:stream';
import { dataPaths } from '../../platform/config/paths.js';
import { controlRequest } from '../control-http.js';
import type { ApplyResult } from './apply.js';
import type { CheckResult, UpdateSettings } from './check.js';
import { UpdateRefused } from './slots.js';

/** A download and check can take as long as the download does (apply.ts allows 30 minutes). */
const LONG_MS = 35 * 60_000;

async function controlCall<T>(dataDir: string, method: string, path: string, json?: unknown, stream?: Readable): Promise<T> {
  let a;
  try {
    a = await controlRequest(dataPaths(dataDir).controlSocket, method, path, { timeoutMs: LONG_MS, ...(json !== undefined ? { json } : {}), ...(stream ? { stream } : {}) });
  } catch (e) {
    throw new UpdateRefused(`the supervisor cannot be asked: ${(e as Error).message}`);
  }
  if (a.status === 200 && a.json !== undefined) return a.json as T;
  throw new UpdateRefused((a.json as { error?: string } | undefined)?.error ?? `the supervisor answered ${a.status}`);
}

/** Streams a bundle to the supervisor, which verifies and installs it (and switches to it). */
export function installUploadedUpdate(dataDir: string, bundle: Readable): Promise<ApplyResult> {
  return controlCall<ApplyResult>(dataDir, 'POST', '/update/upload', undefined, bundle);
}

/** The admin's consent to the release the check found. */
export function approveUpdate(dataDir: string): Promise<ApplyResult> {
  return controlCall<ApplyResult>(dataDir, 'POST', '/update/approve', {});
}

/** One run of the update check, done by the supervisor. */
export function checkForUpdate(dataDir: string): Promise<CheckResult> {
  return controlCall<CheckResult>(dataDir, 'POST', '/update/check', {});
}

export function saveUpdateSettings(dataDir: string, s: Partial<UpdateSettings>): Promise<UpdateSettings> {
  return controlCall<UpdateSettings>(dataDir, 'PUT', '/update/settings', s);
}
