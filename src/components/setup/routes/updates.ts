/**
 * The dashboard's Updates page and its changes: the update settings, "check
 * now" (the maintenance job), the consent to a release the check found, and
 * the upload of a bundle. Installing is the supervisor's update code
 * (src/supervisor/update/); a refusal is its one-line reason, shown as is.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MatrixError } from '../../../core/errors.js';
import { lingerAfterRefusal } from '../../../platform/http/index.js';
import {
  approveUpdate,
  fetchUpdateStatus,
  installUploadedUpdate,
  MAX_BUNDLE_BYTES,
  readUpdateSettings,
  saveUpdateSettings,
  updateStatus,
  type ApplyResult,
} from '../../../supervisor/update/index.js';
import type { SetupDeps } from '../context.js';
import type { SafeHtml } from '../html.js';
import type { AdminSession } from '../sessions.js';
import { updatesPage } from '../views/updates.js';
import { formOf, goTo, sendPage, wantsJson } from './common.js';

export interface DashboardGuards {
  /** The signed-in admin, or undefined after answering (redirect or 401). */
  admin(req: FastifyRequest, reply: FastifyReply): Promise<AdminSession | undefined>;
  /** As admin, and the request is a change from our own page (CSRF, origin). */
  change(req: FastifyRequest, reply: FastifyReply): Promise<AdminSession | undefined>;
  page(title: string, body: SafeHtml, s: AdminSession, current: string): SafeHtml;
}

const MESSAGES: Record<string, string> = {
  saved: 'The update settings were saved.',
  checked: 'The check ran; its result is below.',
};

const UPDATE_CHECK_JOB = 'update-check';

export function updateRoutes(app: FastifyInstance, d: SetupDeps, g: DashboardGuards): void {
  const dataDir = d.ctx.paths.dataDir;
  const status = async () => (await fetchUpdateStatus(dataDir)) ?? updateStatus(dataDir);
  const checkJob = () =>
    d.maintenance!.listJobs({}).then(
      (r) => r.jobs.find((j) => j.name === UPDATE_CHECK_JOB),
      () => undefined,
    );

  const render = async (req: FastifyRequest, reply: FastifyReply, s: AdminSession, code: number, extra: { message?: string; error?: string; errors?: Record<string, string> } = {}) => {
    const [st, check] = await Promise.all([status(), checkJob()]);
    const ok = MESSAGES[(req.query as { ok?: string }).ok ?? ''];
    const message = extra.message ?? ok;
    const body = updatesPage({ status: st, settings: readUpdateSettings(dataDir), check, csrf: s.csrf, errors: extra.errors ?? {}, ...(message ? { message } : {}), ...(extra.error ? { error: extra.error } : {}) });
    return sendPage(reply, code, g.page('Updates', body, s, '/dashboard/updates'));
  };

  /** The answer to an install: JSON for the page's script, else the page with the outcome. */
  const installed = async (req: FastifyRequest, reply: FastifyReply, s: AdminSession, outcome: { result: ApplyResult } | { error: string }) => {
    if ('error' in outcome) {
      d.ctx.logger.warn({ by: s.user_id, reason: outcome.error }, 'update refused');
      return wantsJson(req) ? reply.status(400).send({ errcode: 'M_INVALID_PARAM', error: outcome.error }) : render(req, reply, s, 400, { error: outcome.error });
    }
    d.ctx.logger.info({ by: s.user_id, version: outcome.result.version, slot: outcome.result.slot }, 'update installed from the dashboard');
    return wantsJson(req) ? reply.send(outcome.result) : render(req, reply, s, 200, { message: outcome.result.message });
  };

  app.get('/dashboard/updates', async (req, reply) => {
    const s = await g.admin(req, reply);
    if (!s) return reply;
    if (wantsJson(req)) return { status: await status(), settings: readUpdateSettings(dataDir) };
    return render(req, reply, s, 200);
  });

  app.post('/dashboard/updates/settings', async (req, reply) => {
    const s = await g.change(req, reply);
    if (!s) return reply;
    const form = formOf(req);
    const url = (form.url ?? '').trim();
    let error: string | undefined;
    if (url.length > 2000) error = 'The address is too long.';
    else {
      try {
        if (url) new URL(url);
        await saveUpdateSettings(dataDir, { url, automatic: form.automatic === 'yes' });
      } catch (e) {
        error = e instanceof TypeError ? 'Enter a full address, starting with https://.' : (e as Error).message.replace(/^the update URL/, 'The address');
      }
    }
    if (error) return wantsJson(req) ? reply.status(400).send({ errors: { url: error } }) : render(req, reply, s, 400, { errors: { url: error } });
    d.ctx.logger.info({ by: s.user_id, url, automatic: form.automatic === 'yes' }, 'update settings changed');
    return goTo(req, reply, '/dashboard/updates?ok=saved');
  });

  app.post('/dashboard/updates/check', async (req, reply) => {
    const s = await g.change(req, reply);
    if (!s) return reply;
    try {
      const run = await d.maintenance!.runJob({ name: UPDATE_CHECK_JOB }, { timeoutMs: 35 * 60_000 });
      if (wantsJson(req)) return reply.send(run);
      return goTo(req, reply, '/dashboard/updates?ok=checked');
    } catch (e) {
      const error = e instanceof MatrixError ? e.message : `The maintenance component did not answer: ${(e as Error).message}`;
      return wantsJson(req) ? reply.status(503).send({ errcode: 'M_UNKNOWN', error }) : render(req, reply, s, 503, { error });
    }
  });

  app.post('/dashboard/updates/approve', async (req, reply) => {
    const s = await g.change(req, reply);
    if (!s) return reply;
    try {
      return await installed(req, reply, s, { result: await approveUpdate(dataDir) });
    } catch (e) {
      return installed(req, reply, s, { error: (e as Error).message });
    }
  });

  // The bundle arrives as the request body itself (the page's script sends the file), streamed to disk.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    scope.addContentTypeParser('multipart/form-data', (_req, payload, done) => done(null, payload));
    scope.post('/dashboard/updates/upload', { config: { rawBody: true } }, async (req, reply) => {
      const body = req.body as Readable;
      // What the refusal did not read is dropped for a moment, so that the answer reaches the browser.
      const discard = () => lingerAfterRefusal(req.raw, reply.raw);
      if (!(req.headers['content-type'] ?? '').startsWith('application/octet-stream')) {
        discard();
        const s = await g.admin(req, reply);
        if (!s) return reply;
        return render(req, reply, s, 415, { error: 'Uploading needs JavaScript in this browser. Or copy the bundle to the board and run: neurite update apply FILE' });
      }
      const s = await g.change(req, reply);
      if (!s) {
        discard();
        return reply;
      }
      const tooLarge = `The file is larger than the ${MAX_BUNDLE_BYTES / 1024 / 1024} MiB a bundle may be.`;
      if (Number(req.headers['content-length'] ?? 0) > MAX_BUNDLE_BYTES) {
        discard();
        return installed(req, reply, s, { error: tooLarge });
      }
      // Streamed to the supervisor, which limits its size, verifies it and installs it.
      try {
        return await installed(req, reply, s, { result: await installUploadedUpdate(dataDir, body) });
      } catch (e) {
        discard();
        return installed(req, reply, s, { error: (e as Error).message });
      }
    });
  });
}
