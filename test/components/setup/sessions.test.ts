/**
 * Dashboard sessions on disk: a restart (an update, a power cut) keeps the
 * admin signed in, an expired session is still handed to the prune (which
 * deletes its Matrix device) after a restart, and signing out forgets it
 * on disk too. Real files in a temporary data directory; the clock is a
 * variable so that idle and lifetime limits can be crossed.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import t from 'tap';
import { ADMIN_IDLE_MS, ADMIN_LIFETIME_MS, COOKIE, Sessions } from '../../../src/components/setup/sessions.js';
import { SetupStore } from '../../../src/components/setup/store.js';
import { tempDir } from '../../helpers/server.js';

let clock = 1_800_000_000_000;
const now = () => clock;

function reply(): FastifyReply & { cookie(): string } {
  let set = '';
  const r = {
    header(name: string, value: string) {
      if (name === 'set-cookie') set = value;
      return r;
    },
    cookie: () => new RegExp(`${COOKIE}=([^;]*)`).exec(set)?.[1] ?? '',
  };
  return r as unknown as FastifyReply & { cookie(): string };
}
const request = (id: string) => ({ headers: { cookie: `other=1; ${COOKIE}=${id}` } }) as unknown as FastifyRequest;
const who = (n: number) => ({ user_id: `@admin${n}:example.org`, device_id: `DASH${n}`, access_token: `token-${n}` });
/** The sessions as a (re)started setup component reads them from the data directory. */
const open = (dir: string) => new Sessions(new SetupStore(dir), now);

/** Admin n signed in on a fresh data directory. */
function signIn(n: number) {
  const dir = tempDir();
  const sessions = open(dir);
  const r = reply();
  const started = sessions.startAdmin(r, who(n));
  return { dir, sessions, started, id: r.cookie() };
}

t.test('a dashboard session survives a restart, and its sign-out too', async (t) => {
  const { dir, sessions, started, id } = signIn(1);
  t.ok(id.length > 20, 'a cookie');

  const after = open(dir);
  t.match(after.get(request(id)), { kind: 'admin', csrf: started.csrf, ...who(1) }, 'the same session after a restart: user, device, token and CSRF token');
  t.equal(after.get(request('someone-else')), undefined, 'another cookie is no session');

  after.end(request(id), reply());
  t.equal(open(dir).get(request(id)), undefined, 'signed out: gone after the next restart as well');
});

t.test('activity keeps a session alive across restarts; idleness ends it, and the prune hands it over', async (t) => {
  let { dir, id, sessions } = signIn(2);
  // Active every 20 minutes for an hour: never idle for 30 minutes.
  for (let i = 0; i < 3; i++) {
    clock += 20 * 60_000;
    t.ok(sessions.get(request(id)), `active after ${(i + 1) * 20} minutes`);
    sessions = open(dir);
  }
  t.ok(sessions.get(request(id)), 'still signed in after three restarts, an hour after signing in');

  clock += ADMIN_IDLE_MS + 1;
  t.equal(sessions.get(request(id)), undefined, 'idle for longer than the limit: no session');
  sessions = open(dir);
  t.equal(sessions.get(request(id)), undefined, 'nor after a restart');
  const { removed, expired } = sessions.prune();
  t.equal(removed, 1);
  t.same(expired.map((s) => s.device_id), [who(2).device_id], 'the prune returns it, so that its device is deleted');
  t.same(open(dir).prune().expired, [], 'and it is gone from disk');
});

t.test('the lifetime limit holds across restarts however active the admin is', async (t) => {
  let { dir, id, sessions } = signIn(3);
  for (let elapsed = 0; elapsed < ADMIN_LIFETIME_MS - 20 * 60_000; elapsed += 20 * 60_000) {
    clock += 20 * 60_000;
    sessions.get(request(id));
  }
  sessions = open(dir);
  t.ok(sessions.get(request(id)), 'alive just before twelve hours');
  clock += 40 * 60_000;
  t.equal(open(dir).get(request(id)), undefined, 'over twelve hours: ended');
});
