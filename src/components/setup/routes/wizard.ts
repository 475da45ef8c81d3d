/**
 * The setup wizard's routes (`/setup/...`). Every step validates on the
 * server and keeps what passed in the store, so a reload or a power cut
 * resumes at the same place; once setup is complete every call is refused.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, renameSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { generate } from 'lean-qr';
import { initDataDir } from '../../../platform/config/init.js';
import { ConfigError } from '../../../platform/config/schema.js';
import { systemCheck, type SystemCheck } from '../../../platform/system/health.js';
import { afterFailure, codeMatches, lockedFor, CODE_FILE } from '../code.js';
import type { SetupDeps } from '../context.js';
import { html } from '../html.js';
import type { Session } from '../sessions.js';
import { fileReadable, portFree } from '../wizard/checks.js';
import { firstIncomplete, validateAccounts, validateServer, validateSystem, validateTls, type Errors, type StepName } from '../wizard/validate.js';
import { accountsPage, codePage, completeRefusal, donePage, progressPage, reviewPage, serverPage, systemPage, tlsPage, type DoneInfo } from '../views/wizard.js';
import { answer, changeAllowed, formOf, goTo, sendPage } from './common.js';

export function wizardRoutes(d: SetupDeps) {
  const { ctx, store, sessions } = d;
  const configured = ctx.configured;
  let check: Promise<SystemCheck> | undefined;

  /** Where this wizard stands: `complete` on a configured server that is not finishing a wizard. */
  const phase = () => {
    const p = store.get().phase;
    if (configured && p !== 'applying') return 'complete';
    return p;
  };
  const passwordKnown = () => d.password !== undefined;

  const refuseComplete = (req: FastifyRequest, reply: FastifyReply) =>
    answer(req, reply, 409, { errcode: 'M_FORBIDDEN', error: 'Setup is complete: the setup API is closed. Sign in to the dashboard.' }, () =>
      d.page({ title: 'Setup is complete', body: completeRefusal() }),
    );

  const needSession = (req: FastifyRequest, reply: FastifyReply): Session | undefined => {
    const s = sessions.get(req);
    if (s?.kind === 'setup') return s;
    if (req.method === 'GET' && !req.url.endsWith('.json') && !req.url.endsWith('.svg')) {
      void reply.redirect('/setup/code', 303);
      return undefined;
    }
    void answer(req, reply, 401, { errcode: 'M_MISSING_TOKEN', error: 'Enter the setup code first.' }, () => d.page({ title: 'Setup code', body: codePage({ codeFile: codeFile() }) }));
    return undefined;
  };

  const codeFile = () => join(ctx.paths.dataDir, CODE_FILE);

  /** Session, CSRF and phase checks for a wizard change; answers the refusal itself. */
  const guardChange = (req: FastifyRequest, reply: FastifyReply): Session | undefined => {
    if (phase() === 'complete') return void refuseComplete(req, reply);
    const s = needSession(req, reply);
    if (!s) return undefined;
    const why = changeAllowed(req, s);
    if (why) return void answer(req, reply, 403, { errcode: 'M_FORBIDDEN', error: why }, () => d.page({ title: 'Refused', body: html`<h1>Refused</h1><p>${why}</p><p><a href="/setup/">Back to the wizard</a></p>` }));
    if (phase() === 'applying') return void answer(req, reply, 409, { errcode: 'M_UNKNOWN', error: 'The server is being started; wait for it.', next: '/setup/progress' }, () => d.page({ title: 'Starting', body: progressPage({ csrf: s.csrf }) }));
    return s;
  };

  const markDone = (step: StepName, values: object) =>
    store.update((s) => {
      Object.assign(s.draft, values);
      if (!s.done_steps.includes(step)) s.done_steps.push(step);
    });

  const nextAfter = (step: StepName): string => {
    const missing = firstIncomplete(store.get().draft, store.get().done_steps, passwordKnown());
    const order = ['system', 'server', 'tls', 'accounts'];
    const following = order[order.indexOf(step) + 1];
    if (following && !store.get().done_steps.includes(following)) return `/setup/${following}`;
    return missing ? `/setup/${missing}` : '/setup/review';
  };

  const where = (): string => {
    const p = phase();
    if (p === 'applying') return '/setup/progress';
    if (p === 'complete') return '/setup/done';
    const missing = firstIncomplete(store.get().draft, store.get().done_steps, passwordKnown());
    return missing ? `/setup/${missing}` : '/setup/review';
  };

  /** A step page may be visited when every step before it is done. */
  const reachable = (step: StepName | 'review'): boolean => {
    const order = ['system', 'server', 'tls', 'accounts', 'review'];
    const missing = firstIncomplete(store.get().draft, store.get().done_steps, passwordKnown());
    return missing === undefined || order.indexOf(step) <= order.indexOf(missing);
  };

  const showStep = (step: StepName | 'review', render: (s: Session, req: FastifyRequest) => Promise<ReturnType<typeof d.page>> | ReturnType<typeof d.page>) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (phase() === 'complete') return refuseComplete(req, reply);
    const s = needSession(req, reply);
    if (!s) return reply;
    if (phase() === 'applying') return reply.redirect('/setup/progress', 303);
    if (!reachable(step)) return reply.redirect(where(), 303);
    return sendPage(reply, 200, await render(s, req));
  };

  const suggestion = (req: FastifyRequest) => {
    const host = hostOf(req);
    return host === '127.0.0.1' || host === '::1' || host === 'localhost' ? 'localhost' : /^[\d.]+$/.test(host) || host.includes(':') ? 'neurite.local' : host;
  };

  const stepPage = (title: string, body: ReturnType<typeof d.page>) => d.page({ title, body });

  return async (app: FastifyInstance) => {
    app.get('/setup', async (_req, reply) => reply.redirect('/setup/', 308));
    app.get('/setup/', async (req, reply) => {
      if (phase() === 'complete' && sessions.get(req)?.kind !== 'setup') return refuseComplete(req, reply);
      if (sessions.get(req)?.kind !== 'setup') return reply.redirect('/setup/code', 303);
      return reply.redirect(where(), 303);
    });

    app.get('/setup/code', async (req, reply) => {
      if (phase() === 'complete') return refuseComplete(req, reply);
      if (sessions.get(req)?.kind === 'setup') return reply.redirect(where(), 303);
      const locked = Math.ceil(lockedFor(store.get().guesses, Date.now()) / 1000);
      return sendPage(reply, 200, d.page({ title: 'Claim this device', body: codePage({ codeFile: codeFile(), ...(locked > 0 ? { lockedSeconds: locked } : {}) }) }));
    });

    app.post('/setup/code', async (req, reply) => {
      if (phase() === 'complete' || d.code === undefined) return refuseComplete(req, reply);
      const origin = req.headers.origin;
      if (req.headers['sec-fetch-site'] === 'cross-site' || (typeof origin === 'string' && origin !== 'null' && safeHost(origin) !== req.headers.host)) {
        return answer(req, reply, 403, { errcode: 'M_FORBIDDEN', error: 'This request came from another site.' }, () => stepPage('Refused', html`<h1>Refused</h1>`));
      }
      const now = Date.now();
      const locked = lockedFor(store.get().guesses, now);
      if (locked > 0) {
        const secs = Math.ceil(locked / 1000);
        reply.header('retry-after', String(secs));
        return answer(req, reply, 429, { errcode: 'M_LIMIT_EXCEEDED', error: `Too many wrong codes. Try again in ${secs} seconds.`, retry_after_ms: locked }, () =>
          stepPage('Claim this device', codePage({ codeFile: codeFile(), lockedSeconds: secs })),
        );
      }
      const input = formOf(req).code ?? '';
      if (input.trim() === '' || input.length > 64 || !codeMatches(input, d.code)) {
        const g = store.update((s) => void (s.guesses = afterFailure(s.guesses, now))).guesses;
        ctx.logger.warn({ failures: g.failures, ip: req.headers['x-neurite-client-ip'] }, 'wrong setup code');
        const error = input.trim() === '' ? 'Enter the setup code.' : 'That is not the setup code of this device. Check the console or the setup-code file.';
        const lockedNow = Math.ceil(lockedFor(g, now) / 1000);
        return answer(req, reply, 403, { errcode: 'M_FORBIDDEN', error, errors: { code: error }, ...(lockedNow ? { retry_after_ms: lockedNow * 1000 } : {}) }, () =>
          stepPage('Claim this device', codePage({ codeFile: codeFile(), error, ...(lockedNow ? { lockedSeconds: lockedNow } : {}) })),
        );
      }
      store.update((s) => void (s.guesses = { failures: 0, locked_until: 0 }));
      const s = sessions.startSetup(reply);
      return goTo(req, reply, where(), { csrf: s.csrf });
    });

    app.get(
      '/setup/system',
      showStep('system', async (s) => stepPage('System check', systemPage({ check: await (check ??= systemCheck(ctx.paths.dataDir)), draft: store.get().draft, errors: {}, csrf: s.csrf }))),
    );
    app.post('/setup/system', async (req, reply) => {
      const s = guardChange(req, reply);
      if (!s) return reply;
      const r = validateSystem(formOf(req));
      if (Object.keys(r.errors).length) {
        const c = await (check ??= systemCheck(ctx.paths.dataDir));
        return answer(req, reply, 400, { errors: r.errors }, () => stepPage('System check', systemPage({ check: c, draft: store.get().draft, errors: r.errors, csrf: s.csrf })));
      }
      markDone('system', r.values);
      return goTo(req, reply, nextAfter('system'));
    });

    app.get('/setup/server', showStep('server', (s, req) => stepPage('Server name', serverPage({ draft: store.get().draft, errors: {}, csrf: s.csrf, suggestion: suggestion(req) }))));
    app.post('/setup/server', async (req, reply) => {
      const s = guardChange(req, reply);
      if (!s) return reply;
      const form = formOf(req);
      const r = validateServer(form);
      if (Object.keys(r.errors).length) return answer(req, reply, 400, { errors: r.errors }, () => stepPage('Server name', serverPage({ draft: store.get().draft, errors: r.errors, csrf: s.csrf, suggestion: suggestion(req), form })));
      markDone('server', r.values);
      return goTo(req, reply, nextAfter('server'));
    });

    app.get('/setup/tls', showStep('tls', (s) => stepPage('Security and ports', tlsPage({ draft: store.get().draft, errors: {}, csrf: s.csrf }))));
    app.post('/setup/tls', async (req, reply) => {
      const s = guardChange(req, reply);
      if (!s) return reply;
      const form = formOf(req);
      const r = validateTls(form, { setupPort: ctx.config.setup_port });
      const errors: Errors = { ...r.errors };
      for (const f of ['tls_cert', 'tls_key'] as const) {
        const p = r.values[f];
        if (p && !errors[f]) {
          const why = fileReadable(p);
          if (why) errors[f] = why;
        }
      }
      for (const f of ['client_port', 'federation_port'] as const) {
        const p = r.values[f];
        if (p !== undefined && !errors[f]) {
          const why = await portFree(ctx.config.bind, p);
          if (why) errors[f] = why;
        }
      }
      if (Object.keys(errors).length) return answer(req, reply, 400, { errors }, () => stepPage('Security and ports', tlsPage({ draft: store.get().draft, errors, csrf: s.csrf, form })));
      markDone('tls', r.values);
      return goTo(req, reply, nextAfter('tls'));
    });

    const serverName = () => store.get().draft.server_name ?? 'your.server';
    app.get('/setup/accounts', showStep('accounts', (s) => stepPage('Accounts', accountsPage({ draft: store.get().draft, errors: {}, csrf: s.csrf, passwordKnown: passwordKnown(), serverName: serverName() }))));
    app.post('/setup/accounts', async (req, reply) => {
      const s = guardChange(req, reply);
      if (!s) return reply;
      const form = formOf(req);
      const r = validateAccounts(form, passwordKnown());
      if (Object.keys(r.errors).length) {
        const shown = { ...form, admin_password: undefined, admin_password2: undefined };
        return answer(req, reply, 400, { errors: r.errors }, () => stepPage('Accounts', accountsPage({ draft: store.get().draft, errors: r.errors, csrf: s.csrf, passwordKnown: passwordKnown(), serverName: serverName(), form: shown })));
      }
      if (r.password !== undefined) d.password = r.password;
      store.update((st) => {
        // Token settings belong to the token policy only.
        if (r.values.registration !== 'token') {
          delete st.draft.token_uses;
          delete st.draft.token_days;
        }
      });
      markDone('accounts', r.values);
      return goTo(req, reply, nextAfter('accounts'));
    });

    app.get('/setup/review', showStep('review', (s, req) => stepPage('Review', reviewPage({ draft: store.get().draft, csrf: s.csrf, setupUrl: setupUrl(req) }))));

    app.post('/setup/apply', async (req, reply) => {
      const s = guardChange(req, reply);
      if (!s) return reply;
      const draft = store.get().draft;
      const missing = firstIncomplete(draft, store.get().done_steps, passwordKnown());
      if (missing) {
        const error = missing === 'accounts' && store.get().done_steps.includes('accounts') ? 'Enter the administrator’s password again: it is kept only in memory and the device restarted since.' : `The step “${missing}” is not complete yet.`;
        return answer(req, reply, 400, { errcode: 'M_INVALID_PARAM', error, next: `/setup/${missing}` }, () => stepPage('Review', reviewPage({ draft, csrf: s.csrf, error, setupUrl: setupUrl(req) })));
      }
      const fail = (error: string) => answer(req, reply, 400, { errcode: 'M_INVALID_PARAM', error }, () => stepPage('Review', reviewPage({ draft, csrf: s.csrf, error, setupUrl: setupUrl(req) })));
      for (const port of [draft.client_port!, draft.federation_port!]) {
        const why = await portFree(ctx.config.bind, port);
        if (why) return fail(`${why} Change it under “Ports”.`);
      }
      const token =
        draft.registration === 'token'
          ? { token: randomBytes(12).toString('base64url'), uses_allowed: draft.token_uses ?? null, expiry_time: draft.token_days ? Date.now() + draft.token_days * 86_400_000 : null }
          : undefined;
      store.writePending({ admin: { username: draft.admin_username!, password: d.password! }, ...(token ? { token } : {}) });
      try {
        initDataDir({
          dataDir: ctx.paths.dataDir,
          serverName: draft.server_name!,
          bind: ctx.config.bind,
          clientPort: draft.client_port!,
          federationPort: draft.federation_port!,
          setupPort: ctx.config.setup_port,
          registration: draft.registration!,
          tls: draft.tls === 'files' ? 'files' : 'self-signed',
          ...(draft.tls === 'files' ? { tlsCert: draft.tls_cert!, tlsKey: draft.tls_key! } : {}),
          federation: draft.federation !== false,
          mode: draft.mode ?? 'split',
        });
      } catch (e) {
        store.clearPending();
        if (e instanceof ConfigError) return fail(`The configuration could not be written: ${e.message}`);
        throw e;
      }
      d.password = undefined;
      store.update((st) => {
        st.phase = 'applying';
        delete st.error;
      });
      ctx.logger.info({ server_name: draft.server_name }, 'configuration written; switching to the homeserver');
      // The switch stops this process: the progress page is the answer itself (a redirect would
      // meet a closed port), and the switch begins once it has been sent.
      void reply.then(
        () =>
          setTimeout(() => {
            void d.supervisor.reload().then(
              (ok) => ok || store.update((st) => void (st.error = 'The supervisor did not take the request to start the server. Try again.')),
              () => store.update((st) => void (st.error = 'The supervisor did not answer the request to start the server. Try again.')),
            );
          }, 300),
        () => undefined,
      );
      return answer(req, reply, 200, { next: '/setup/progress' }, () => stepPage('Starting', progressPage({ csrf: s.csrf })));
    });

    app.get('/setup/progress', async (req, reply) => {
      if (phase() === 'complete' && sessions.get(req)?.kind !== 'setup') return refuseComplete(req, reply);
      const s = needSession(req, reply);
      if (!s) return reply;
      if (phase() === 'wizard') return reply.redirect(where(), 303);
      return sendPage(reply, 200, stepPage('Starting', progressPage({ csrf: s.csrf, ...(store.get().error ? { error: store.get().error! } : {}) })));
    });

    app.get('/setup/progress.json', async (req, reply) => {
      const s = sessions.get(req);
      if (s?.kind !== 'setup') return reply.status(401).send({ errcode: 'M_MISSING_TOKEN', error: 'Enter the setup code first.' });
      const status = await d.supervisor.status().catch(() => undefined);
      const processes = (status?.processes ?? []).map((p) => ({ name: p.name, state: p.state }));
      const running = processes.length > 0 && processes.every((p) => p.state === 'running');
      let error = store.get().error;
      if (!configured && status?.reload?.state === 'failed') error = `The server did not start: ${status.reload.error}`;
      const fin = d.finisher?.current;
      if (fin?.state === 'failed') error = fin.error;
      const p = phase();
      const done = p === 'complete' && running;
      return reply.send({
        phase: p,
        configured,
        processes: configured ? processes : [],
        ...(error ? { error } : {}),
        ...(done ? { next: '/setup/done' } : {}),
      });
    });

    app.post('/setup/retry', async (req, reply) => {
      if (phase() === 'complete') return refuseComplete(req, reply);
      const s = needSession(req, reply);
      if (!s) return reply;
      const why = changeAllowed(req, s);
      if (why) return answer(req, reply, 403, { errcode: 'M_FORBIDDEN', error: why }, () => stepPage('Refused', html`<h1>Refused</h1><p>${why}</p>`));
      store.update((st) => void delete st.error);
      if (configured) d.finisher?.start();
      else if (existsSync(ctx.paths.configFile)) await d.supervisor.reload().catch(() => false);
      return goTo(req, reply, '/setup/progress');
    });

    /** After a failed start: put the written configuration aside and go back to the review. */
    app.post('/setup/discard', async (req, reply) => {
      if (configured || phase() !== 'applying') return refuseComplete(req, reply);
      const s = needSession(req, reply);
      if (!s) return reply;
      const why = changeAllowed(req, s);
      if (why) return answer(req, reply, 403, { errcode: 'M_FORBIDDEN', error: why }, () => stepPage('Refused', html`<h1>Refused</h1><p>${why}</p>`));
      const aside = join(store.dir, `discarded-${Date.now()}`);
      mkdirSync(aside, { recursive: true, mode: 0o700 });
      for (const f of ['neurite.yaml', 'keys']) if (existsSync(join(ctx.paths.dataDir, f))) renameSync(join(ctx.paths.dataDir, f), join(aside, f));
      store.clearPending();
      store.update((st) => {
        st.phase = 'wizard';
        delete st.error;
      });
      rmSync(join(aside, 'keys'), { recursive: true, force: true });
      return goTo(req, reply, '/setup/review');
    });

    app.get('/setup/done', async (req, reply) => {
      const s = sessions.get(req);
      if (phase() !== 'complete' || s?.kind !== 'setup') return phase() === 'complete' ? refuseComplete(req, reply) : reply.redirect(where(), 303);
      return sendPage(reply, 200, stepPage('Done', donePage(doneInfo(req))));
    });

    app.get('/setup/qr.svg', async (req, reply) => {
      const s = sessions.get(req);
      if (!s) return reply.status(401).send({ errcode: 'M_MISSING_TOKEN', error: 'Sign in first.' });
      return reply.type('image/svg+xml').send(qrSvg(doneInfo(req).clientUrl));
    });
  };

  function doneInfo(req: FastifyRequest): DoneInfo {
    const c = ctx.config;
    const host = hostOf(req);
    const h = host.includes(':') ? `[${host}]` : host;
    return {
      serverName: c.server_name,
      admin: store.get().complete?.admin ?? '',
      clientUrl: `http://${h}:${c.client_port}`,
      federationUrl: `${c.tls.mode === 'off' ? 'http' : 'https'}://${h}:${c.federation_port}`,
      ...(store.get().complete?.token ? { token: store.get().complete!.token! } : {}),
      federation: c.federation.enabled,
    };
  }

  function setupUrl(req: FastifyRequest): string {
    return `http://${req.headers.host ?? 'neurite.local'}/`;
  }
}

/** The hostname the browser used to reach this page (neurite.local, an address). */
export function hostOf(req: FastifyRequest): string {
  const host = req.headers.host ?? 'neurite.local';
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(host) ?? /^([^:]+)(?::\d+)?$/.exec(host);
  return m?.[1] ?? 'neurite.local';
}

function safeHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/** A QR code as SVG: one path of unit squares on a white field with the quiet zone the standard asks for. */
export function qrSvg(text: string): string {
  const code = generate(text);
  const n = code.size;
  let d = '';
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (code.get(x, y)) d += `M${x + 4} ${y + 4}h1v1h-1z`;
  const size = n + 8;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges"><rect width="${size}" height="${size}" fill="#fff"/><path d="${d}" fill="#000"/></svg>`;
}
