/**
 * Updates as the homeserver's own processes ask for them: through the
 * supervisor's control socket, never by writing the slots themselves. On
 * the device those processes run unprivileged (src/supervisor/privileges.ts)
 * and the supervisor, as root, receives the bundle, verifies and installs
 * it; an uploaded bundle is streamed straight to it, so no file a process
 * could still change after the check is ever installed.
 */
import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { dataPaths } from '../../platform/config/paths.js';
import type { ApplyResult } from './apply.js';
import type { CheckResult, UpdateSettings } from './check.js';
import { UpdateRefused } from './slots.js';

/** A download and check can take as long as the download does (apply.ts allows 30 minutes). */
const LONG_MS = 35 * 60_000;

function controlCall<T>(dataDir: string, method: string, path: string, body?: unknown, stream?: Readable): Promise<T> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: dataPaths(dataDir).controlSocket,
        method,
        path,
        timeout: LONG_MS,
        headers: text !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : { 'content-type': 'application/octet-stream' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let parsed: { error?: string } | undefined;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: string };
          } catch {
            parsed = undefined;
          }
          if (res.statusCode === 200 && parsed) return resolve(parsed as T);
          reject(new UpdateRefused(parsed?.error ?? `the supervisor answered ${res.statusCode}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('the supervisor did not answer in time')));
    req.on('error', (e) => reject(new UpdateRefused(`the supervisor cannot be asked: ${e.message}`)));
    if (stream) {
      // A refusal may come before the whole body is sent: the answer counts, not the broken pipe.
      stream.on('error', (e) => req.destroy(e));
      stream.pipe(req);
    } else req.end(text);
  });
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
