/**
 * The supervisor's side of remote.ts: the control requests through which
 * the dashboard and the scheduled check install updates. They run here, in
 * the supervisor (root on the device), one at a time.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { readJsonBody, replyJson } from '../control-http.js';
import { applyUpdate, MAX_BUNDLE_BYTES } from './apply.js';
import { approvePendingUpdate, runUpdateCheck, writeUpdateSettings, type UpdateSettings } from './check.js';
import { appPaths, UpdateRefused } from './slots.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const MAX_SETTINGS_BYTES = 16 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  try {
    return await readJsonBody(req, MAX_SETTINGS_BYTES);
  } catch (e) {
    throw new UpdateRefused(e instanceof RangeError ? e.message : 'the request is not JSON');
  }
}

/** Streams an uploaded bundle into staging/ (root's), refusing more than MAX_BUNDLE_BYTES. */
async function receiveBundle(req: IncomingMessage, dataDir: string): Promise<string> {
  const dir = appPaths(dataDir).stagingDir;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `upload-${randomBytes(6).toString('hex')}.bundle`);
  let got = 0;
  const count = new Transform({
    transform(c: Buffer, _enc, done) {
      got += c.length;
      done(got > MAX_BUNDLE_BYTES ? new UpdateRefused(`the file is larger than the ${MAX_BUNDLE_BYTES / 1024 / 1024} MiB a bundle may be`) : null, c);
    },
  });
  try {
    await pipeline(req, count, createWriteStream(file, { mode: 0o600 }));
  } catch (e) {
    rmSync(file, { force: true });
    throw e instanceof UpdateRefused ? e : new UpdateRefused(`the upload broke off after ${got} bytes (${(e as Error).message})`);
  }
  if (got === 0) {
    rmSync(file, { force: true });
    throw new UpdateRefused('the file is empty');
  }
  return file;
}

export function updateControlHandlers(dataDir: string, log: Logger): Record<string, Handler> {
  let busy = false;
  // One update operation at a time; a refusal answers 400 with its one-line reason.
  const serve = (what: string, run: (req: IncomingMessage) => Promise<unknown>): Handler => (req, res) => {
    if (busy) {
      req.resume();
      return replyJson(res, 409, { error: 'another update is being checked or installed; try again when it is done' });
    }
    busy = true;
    run(req).then(
      (result) => replyJson(res, 200, result),
      (e: Error) => {
        if (!req.complete) req.resume();
        if (!(e instanceof UpdateRefused)) log.error({ err: e, request: what }, 'update request failed');
        replyJson(res, e instanceof UpdateRefused ? 400 : 500, { error: e.message });
      },
    ).finally(() => (busy = false));
  };
  return {
    'POST /update/upload': serve('upload', async (req) => applyUpdate({ dataDir, source: await receiveBundle(req, dataDir), deleteSource: true })),
    'POST /update/approve': serve('approve', async (req) => {
      req.resume();
      return approvePendingUpdate(dataDir);
    }),
    'POST /update/check': serve('check', async (req) => {
      req.resume();
      return runUpdateCheck({ dataDir });
    }),
    'PUT /update/settings': serve('settings', async (req) => {
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UpdateRefused('the settings must be an object');
      const { url, automatic } = body as Record<string, unknown>;
      if (url !== undefined && typeof url !== 'string') throw new UpdateRefused('the update URL must be text');
      if (automatic !== undefined && typeof automatic !== 'boolean') throw new UpdateRefused('automatic must be true or false');
      const next: Partial<UpdateSettings> = { ...(url !== undefined ? { url } : {}), ...(automatic !== undefined ? { automatic } : {}) };
      return writeUpdateSettings(dataDir, next);
    }),
  };
}
