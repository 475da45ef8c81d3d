/**
 * The dashboard (after setup): sign-in with a Matrix admin account through
 * the UserAPI, then health, processes and their logs, users, registration
 * tokens, reports of content, scheduled jobs, updates (routes/updates.ts)
 * and the registration/federation switches.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MatrixError } from '../../../core/errors.js';
import { updateConfig } from '../../../platform/config/update.js';
import { loadConfig } from '../../../platform/config/load.js';
import { clientIp } from '../../../platform/http/app.js';
import { sampleHealth, type HealthSample } from '../../../platform/system/health.js';
import type { SetupDeps } from '../context.js';
import { html } from '../html.js';
import type { AdminSession } from '../sessions.js';
import { jobsPage, loginPage, logsPage, overviewPage, reportsPage, settingsPage, tokensPage, usersPage, processRows, USERS_PAGE } from '../views/dashboard.js';
import { MIN_PASSWORD, MAX_PASSWORD } from '../wizard/validate.js';
import { answer, changeAllowed, formOf, goTo, sendPage, wantsJson } from './common.js';
import { updateRoutes } from './updates.js';

const MESSAGES: Record<string, string> = {
  created: 'The user was created.',
  password: 'The password was changed; the user’s other sessions were signed out.',
  deactivated: 'The account was deactivated.',
  admin: 'The user is an administrator now.',
  unadmin: 'The user is no longer an administrator.',
  moderated: 'The account’s lock or suspension was changed.',
  revoked: 'The token was revoked.',
  saved: 'Saved. The server is restarting with the new settings.',
  ran: 'The job ran.',
  dismissed: 'The report was dismissed.',
};

/** Wrong passwords per address: ten, then a quarter of an hour's pause. */
class LoginLimiter {
  private readonly failures = new Map<string, { n: number; first: number }>();
  blocked(ip: string, now: number): number {
    const f = this.failures.get(ip);
    if (!f || now - f.first > 15 * 60_000) return 0;
    return f.n >= 10 ? f.first + 15 * 60_000 - now : 0;
  }
  fail(ip: string, now: number): void {
    const f = this.failures.get(ip);
    if (!f || now - f.first > 15 * 60_000) this.failures.set(ip, { n: 1, first: now });
    else f.n++;
    if (this.failures.size > 10_000) this.failures.clear();
  }
  clear(ip: string): void {
    this.failures.delete(ip);
  }
}

export function dashboardRoutes(d: SetupDeps) {
  const { ctx, sessions } = d;
  const users = d.users!;
  const limiter = new LoginLimiter();
  let live: { at: number; value: Promise<HealthSample> } | undefined;
  const health = () => {
    if (!live || Date.now() - live.at > 2000) live = { at: Date.now(), value: sampleHealth(ctx.paths.dataDir) };
    return live.value.catch(() => undefined);
  };
  const config = () => loadConfig(ctx.paths.dataDir) ?? ctx.config;

  /** The signed-in admin, checked against the UserAPI on every request (a deactivated admin is out at once). */
  const admin = async (req: FastifyRequest, reply: FastifyReply): Promise<AdminSession | undefined> => {
    const s = sessions.get(req);
    if (s?.kind === 'admin') {
      const who = await users.queryAccessToken({ token: s.access_token }).catch(() => undefined);
      if (who?.owner?.is_admin) return s;
      sessions.end(req, reply);
      // Demoted: the session's device goes with it, as at sign-out.
      if (who?.owner) await users.deleteDevices({ user_id: s.user_id, device_ids: [s.device_id] }).catch(() => undefined);
    }
    if (req.method === 'GET' && !req.url.includes('.json')) void reply.redirect('/login', 303);
    else void reply.status(401).type('application/json').send({ errcode: 'M_MISSING_TOKEN', error: 'Sign in first.' });
    return undefined;
  };

  const change = async (req: FastifyRequest, reply: FastifyReply): Promise<AdminSession | undefined> => {
    const s = await admin(req, reply);
    if (!s) return undefined;
    const why = changeAllowed(req, s);
    if (why) return void answer(req, reply, 403, { errcode: 'M_FORBIDDEN', error: why }, () => page('Refused', html`<h1>Refused</h1><p>${why}</p>`, s, ''));
    return s;
  };

  const page = (title: string, body: ReturnType<typeof html>, s: AdminSession, current: string) =>
    d.page({ title, body, wide: true, nav: { current, user: s.user_id, csrf: s.csrf }, data: { csrf: s.csrf } });

  const message = (req: FastifyRequest) => MESSAGES[(req.query as { ok?: string }).ok ?? ''];
  const explain = (e: unknown) => (e instanceof MatrixError ? e.message : `The server did not answer: ${(e as Error).message}`);
  /** A page of the users list, deactivated accounts included (they show as such); undefined when the UserAPI does not answer. */
  const listUsers = (q: string, from: number) => users.listUsers({ search: q, from, limit: USERS_PAGE, deactivated: true }).catch(() => undefined);

  return async (app: FastifyInstance) => {
    app.get('/login', async (req, reply) => {
      if (sessions.get(req)?.kind === 'admin') return reply.redirect('/dashboard', 303);
      return sendPage(reply, 200, d.page({ title: 'Sign in', body: loginPage({}) }));
    });

    app.post('/login', async (req, reply) => {
      const form = formOf(req);
      const user = (form.user ?? '').trim();
      const ip = clientIp(req);
      const now = Date.now();
      const refuse = (status: number, error: string) =>
        answer(req, reply, status, { errcode: status === 429 ? 'M_LIMIT_EXCEEDED' : 'M_FORBIDDEN', error }, () => d.page({ title: 'Sign in', body: loginPage({ error, user }) }));
      if (req.headers['sec-fetch-site'] === 'cross-site') return refuse(403, 'This request came from another site.');
      const wait = limiter.blocked(ip, now);
      if (wait > 0) return refuse(429, `Too many failed sign-ins. Try again in ${Math.ceil(wait / 60_000)} minutes.`);
      if (user === '' || !form.password) return refuse(400, 'Enter your user name and password.');
      let login;
      try {
        login = await users.loginWithPassword({ user, password: form.password, login: { display_name: 'Neurite dashboard', ip, user_agent: String(req.headers['user-agent'] ?? '').slice(0, 200) } });
      } catch (e) {
        if (e instanceof MatrixError && (e.errcode === 'M_FORBIDDEN' || e.errcode === 'M_USER_DEACTIVATED')) {
          limiter.fail(ip, now);
          return refuse(403, 'Wrong user name or password.');
        }
        return refuse(503, explain(e));
      }
      const who = await users.queryAccessToken({ token: login.access_token });
      if (!who.owner?.is_admin) {
        await users.deleteDevices({ user_id: login.user_id, device_ids: [login.device_id] }).catch(() => undefined);
        ctx.logger.warn({ user_id: login.user_id }, 'dashboard sign-in refused: not an administrator');
        return refuse(403, 'This account is not an administrator of this server. Ask an administrator to sign in.');
      }
      limiter.clear(ip);
      const s = sessions.startAdmin(reply, { user_id: login.user_id, device_id: login.device_id, access_token: login.access_token });
      ctx.logger.info({ user_id: login.user_id }, 'dashboard sign-in');
      return goTo(req, reply, '/dashboard', { csrf: s.csrf });
    });

    app.post('/logout', async (req, reply) => {
      const s = sessions.get(req);
      if (s?.kind === 'admin') {
        const why = changeAllowed(req, s);
        if (why) return reply.status(403).send({ errcode: 'M_FORBIDDEN', error: why });
        sessions.end(req, reply);
        await users.deleteDevices({ user_id: s.user_id, device_ids: [s.device_id] }).catch(() => undefined);
      }
      return goTo(req, reply, '/login');
    });

    app.get('/dashboard', async (req, reply) => {
      const s = await admin(req, reply);
      if (!s) return reply;
      const [sample, status, samples, media, jobs] = await Promise.all([
        health(),
        d.supervisor.status().catch(() => undefined),
        d.maintenance!.healthSamples({}).then((r) => r.samples).catch(() => []),
        d.media!.usage({ top: 5 }, { timeoutMs: 5000 }).catch(() => undefined),
        d.maintenance!.listJobs({}).then((r) => r.jobs).catch(() => []),
      ]);
      const mediaJobs = jobs.filter((j) => j.name.startsWith('media-'));
      return sendPage(reply, 200, page('Overview', overviewPage({ sample, samples, status, media, mediaJobs, config: config(), now: Date.now() }), s, '/dashboard'));
    });

    app.get('/dashboard/health.json', async (req, reply) => {
      const s = await admin(req, reply);
      if (!s) return reply;
      const [sample, status] = await Promise.all([health(), d.supervisor.status().catch(() => undefined)]);
      const pss = status ? status.processes.reduce((a, p) => a + (p.memory?.pss_kb ?? 0), status.supervisor.memory?.pss_kb ?? 0) : 0;
      return { health: sample ?? null, processes_html: processRows(status).text, pss_kb: pss };
    });

    app.get('/dashboard/samples.json', async (req, reply) => {
      const s = await admin(req, reply);
      if (!s) return reply;
      const samples = await d.maintenance!.healthSamples({}).then((r) => r.samples).catch(() => []);
      return { now: Date.now(), samples };
    });

    app.get('/dashboard/logs', async (req, reply) => {
      const s = await admin(req, reply);
      if (!s) return reply;
      const name = String((req.query as { process?: string }).process ?? '').slice(0, 64);
      const lines = await d.supervisor.logs(name, 200).catch(() => []);
      return sendPage(reply, 200, page(`Log of ${name}`, logsPage({ process: name, lines }), s, '/dashboard'));
    });

    app.get('/dashboard/users', async (req, reply) => {
      const s = await admin(req, reply);
      if (!s) return reply;
      const query = req.query as { q?: string; from?: string };
      const q = String(query.q ?? '').slice(0, 200);
      const from = /^\d{1,9}$/.test(String(query.from ?? '')) ? Number(query.from) : 0;
      const list = await listUsers(q, from);
      if (wantsJson(req)) return list ?? reply.status(503).send({ errcode: 'M_UNKNOWN', error: 'The UserAPI did not answer.' });
      return sendPage(reply, 200, page('Users', usersPage({ q, from, list, csrf: s.csrf, errors: {}, me: s.user_id, ...(message(req) ? { message: message(req)! } : {}) }), s, '/dashboard/users'));
    });

    app.post('/dashboard/users', async (req, reply) => {
      const s = await change(req, reply);
      if (!s) return reply;
      const form = formOf(req);
      const errors: Record<string, string> = {};
      const username = (form.username ?? '').trim();
      if (username === '') errors.username = 'Enter a user name.';
      const password = form.password ?? '';
      if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) errors.password = `The password must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters long.`;
      if (!errors.username && !errors.password) {
        try {
          await users.createAccount({ username, password, admin: form.admin === 'yes' });
          return goTo(req, reply, '/dashboard/users?ok=created');
        } catch (e) {
          errors.username = explain(e);
        }
      }
      const list = await listUsers('', 0);
      return answer(req, reply, 400, { errors }, () => page('Users', usersPage({ q: '', list, csrf: s.csrf, errors, form: { ...form, password: undefined }, me: s.user_id }), s, '/dashboard/users'));
    });

    /** `run` answers with an error in words, or with the message key to show after the change. */
    const userAction = (path: string, run: (userId: string, form: Record<string, string | undefined>, s: AdminSession) => Promise<{ error: string } | { ok: string }>) =>
      app.post(path, async (req, reply) => {
        const s = await change(req, reply);
        if (!s) return reply;
        const form = formOf(req);
        const userId = form.user_id ?? '';
        let result: { error: string } | { ok: string };
        try {
          result = await run(userId, form, s);
        } catch (e) {
          result = { error: explain(e) };
        }
        if ('ok' in result) return goTo(req, reply, `/dashboard/users?ok=${result.ok}`);
        const list = await listUsers('', 0);
        return answer(req, reply, 400, { error: result.error }, () => page('Users', usersPage({ q: '', list, csrf: s.csrf, errors: { user: result.error }, me: s.user_id }), s, '/dashboard/users'));
      });

    userAction(
      '/dashboard/users/password',
      async (userId, form) => {
        const p = form.password ?? '';
        if (p.length < MIN_PASSWORD || p.length > MAX_PASSWORD) return { error: `The new password must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters long.` };
        await users.setPassword({ user_id: userId, new_password: p, logout_devices: true });
        return { ok: 'password' };
      },
    );
    userAction(
      '/dashboard/users/deactivate',
      async (userId, _f, s) => {
        if (userId === s.user_id) return { error: 'You cannot deactivate the account you are signed in with.' };
        await users.deactivateAccount({ user_id: userId });
        return { ok: 'deactivated' };
      },
    );
    userAction(
      '/dashboard/users/moderate',
      async (userId, form, s) => {
        const flag = (v: string | undefined) => (v === 'yes' ? true : v === 'no' ? false : undefined);
        const locked = flag(form.lock);
        const suspended = flag(form.suspend);
        if (locked === undefined && suspended === undefined) return { error: 'Choose to lock or suspend the account, or to lift it.' };
        await users.setUserModeration({ user_id: userId, by: s.user_id, ...(locked !== undefined ? { locked } : {}), ...(suspended !== undefined ? { suspended } : {}) });
        ctx.logger.info({ by: s.user_id, user_id: userId, locked, suspended }, 'account moderation changed');
        return { ok: 'moderated' };
      },
    );
    userAction(
      '/dashboard/users/admin',
      async (userId, form, s) => {
        if (form.admin !== 'yes' && form.admin !== 'no') return { error: 'Choose whether the user is to be an administrator.' };
        // The UserAPI refuses to remove the last administrator, in words.
        await users.setUserAdmin({ user_id: userId, admin: form.admin === 'yes' });
        ctx.logger.info({ by: s.user_id, user_id: userId, admin: form.admin === 'yes' }, 'administrator flag changed');
        return { ok: form.admin === 'yes' ? 'admin' : 'unadmin' };
      },
    );

    const tokenPage = async (req: FastifyRequest, reply: FastifyReply, s: AdminSession, status: number, extra: { created?: string; errors?: Record<string, string>; form?: Record<string, string | undefined> }) => {
      const list = await users.listRegistrationTokens({}).catch(() => ({ registration_tokens: [] }));
      const msg = message(req);
      return sendPage(
        reply,
        status,
        page('Tokens', tokensPage({ tokens: list.registration_tokens, csrf: s.csrf, errors: extra.errors ?? {}, registration: config().registration, ...(extra.created ? { created: extra.created } : {}), ...(extra.form ? { form: extra.form } : {}), ...(msg ? { message: msg } : {}) }), s, '/dashboard/tokens'),
      );
    };

    app.get('/dashboard/tokens', async (req, reply) => {
      const s = await admin(req, reply);
      if (!s) return reply;
      return tokenPage(req, reply, s, 200, {});
    });

    app.post('/dashboard/tokens', async (req, reply) => {
      const s = await change(req, reply);
      if (!s) return reply;
      const form = formOf(req);
      const errors: Record<string, string> = {};
      const uses = (form.uses ?? '').trim();
      const days = (form.days ?? '').trim();
      if (uses !== '' && (!/^\d+$/.test(uses) || Number(uses) < 1 || Number(uses) > 100_000)) errors.uses = 'Uses must be a whole number from 1, or empty for no limit.';
      if (days !== '' && (!/^\d+$/.test(days) || Number(days) < 1 || Number(days) > 3650)) errors.days = 'Days must be a whole number from 1 to 3650, or empty for no expiry.';
      if (Object.keys(errors).length) {
        if ((req.headers.accept ?? '').includes('application/json')) return reply.status(400).send({ errors });
        return tokenPage(req, reply, s, 400, { errors, form });
      }
      try {
        const t = await users.createRegistrationToken({ uses_allowed: uses === '' ? null : Number(uses), expiry_time: days === '' ? null : Date.now() + Number(days) * 86_400_000 });
        if ((req.headers.accept ?? '').includes('application/json')) return reply.send({ token: t.token });
        return tokenPage(req, reply, s, 200, { created: t.token });
      } catch (e) {
        return tokenPage(req, reply, s, 400, { errors: { uses: explain(e) }, form });
      }
    });

    app.post('/dashboard/tokens/delete', async (req, reply) => {
      const s = await change(req, reply);
      if (!s) return reply;
      try {
        await users.deleteRegistrationToken({ token: formOf(req).token ?? '' });
      } catch (e) {
        return tokenPage(req, reply, s, 400, { errors: { token: explain(e) } });
      }
      return goTo(req, reply, '/dashboard/tokens?ok=revoked');
    });

    const reports = (req: FastifyRequest, reply: FastifyReply, s: AdminSession, status: number, error?: string) =>
      users.listReports({ limit: 100 }).then(
        (list) => sendPage(reply, status, page('Reports', reportsPage({ reports: list.reports, total: list.total, csrf: s.csrf, ...(message(req) ? { message: message(req)! } : {}), ...(error ? { error } : {}) }), s, '/dashboard/reports')),
        () => sendPage(reply, status, page('Reports', reportsPage({ reports: undefined, total: 0, csrf: s.csrf, ...(error ? { error } : {}) }), s, '/dashboard/reports')),
      );

    app.get('/dashboard/reports', async (req, reply) => {
      const s = await admin(req, reply);
      if (!s) return reply;
      if (wantsJson(req)) return users.listReports({ limit: 100 });
      return reports(req, reply, s, 200);
    });

    app.post('/dashboard/reports/dismiss', async (req, reply) => {
      const s = await change(req, reply);
      if (!s) return reply;
      try {
        await users.dismissReport({ id: formOf(req).id ?? '' });
      } catch (e) {
        return wantsJson(req) ? reply.status(400).send({ errcode: 'M_NOT_FOUND', error: explain(e) }) : reports(req, reply, s, 400, explain(e));
      }
      ctx.logger.info({ by: s.user_id }, 'report dismissed');
      return goTo(req, reply, '/dashboard/reports?ok=dismissed');
    });

    app.get('/dashboard/jobs', async (req, reply) => {
      const s = await admin(req, reply);
      if (!s) return reply;
      const jobs = await d.maintenance!.listJobs({}).then((r) => r.jobs).catch(() => undefined);
      if ((req.headers.accept ?? '').includes('application/json')) return { jobs: jobs ?? [] };
      return sendPage(reply, 200, page('Jobs', jobsPage({ jobs, csrf: s.csrf, ...(message(req) ? { message: message(req)! } : {}) }), s, '/dashboard/jobs'));
    });

    app.post('/dashboard/jobs/run', async (req, reply) => {
      const s = await change(req, reply);
      if (!s) return reply;
      try {
        const run = await d.maintenance!.runJob({ name: formOf(req).name ?? '' });
        if ((req.headers.accept ?? '').includes('application/json')) return reply.send(run);
        return goTo(req, reply, '/dashboard/jobs?ok=ran');
      } catch (e) {
        const jobs = await d.maintenance!.listJobs({}).then((r) => r.jobs).catch(() => undefined);
        return answer(req, reply, 400, { error: explain(e) }, () => page('Jobs', jobsPage({ jobs, csrf: s.csrf, error: explain(e) }), s, '/dashboard/jobs'));
      }
    });

    updateRoutes(app, d, { admin, change, page });

    app.get('/dashboard/settings', async (req, reply) => {
      const s = await admin(req, reply);
      if (!s) return reply;
      return sendPage(reply, 200, page('Settings', settingsPage({ config: config(), csrf: s.csrf, errors: {}, ...(message(req) ? { message: message(req)! } : {}) }), s, '/dashboard/settings'));
    });

    app.post('/dashboard/settings', async (req, reply) => {
      const s = await change(req, reply);
      if (!s) return reply;
      const form = formOf(req);
      const errors: Record<string, string> = {};
      const registration = form.registration;
      if (registration !== 'closed' && registration !== 'token' && registration !== 'open') errors.registration = 'Choose who may create accounts.';
      if (form.federation !== 'on' && form.federation !== 'off') errors.federation = 'Choose whether federation is on or off.';
      if (Object.keys(errors).length) return answer(req, reply, 400, { errors }, () => page('Settings', settingsPage({ config: config(), csrf: s.csrf, errors }), s, '/dashboard/settings'));
      const before = config();
      if (before.registration === registration && before.federation.enabled === (form.federation === 'on')) return goTo(req, reply, '/dashboard/settings');
      updateConfig(ctx.paths.dataDir, { registration: registration as 'closed' | 'token' | 'open', federation_enabled: form.federation === 'on' });
      ctx.logger.info({ by: s.user_id, registration, federation: form.federation }, 'settings changed; restarting');
      // The restart ends this process too: answer first.
      void reply.then(
        () => setTimeout(() => void d.supervisor.reload().catch(() => undefined), 300),
        () => undefined,
      );
      return answer(req, reply, 200, { restarting: true }, () =>
        page('Settings', settingsPage({ config: config(), csrf: s.csrf, errors: {}, message: 'Saved. The server is restarting with the new settings; sign in again in a few seconds.' }), s, '/dashboard/settings'),
      );
    });
  };
}
