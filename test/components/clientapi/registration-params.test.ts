/**
 * What a registration's first request named, kept by UIA session for a
 * retry that carries only `auth`: the retry's own fields win, and a session
 * is forgotten after half an hour or when a thousand newer ones are kept.
 */
import t from 'tap';
import { RegistrationParams } from '../../../src/components/clientapi/routes/account/registration-params.js';

const auth = (session: string) => ({ auth: { type: 'm.login.dummy', session } });

t.test('a retry gets the first request fields it leaves out; its own win', async (t) => {
  const p = new RegistrationParams();
  p.remember('s1', { username: 'ann', password: 'pw', device_id: 'D', inhibit_login: true, unrelated: 'x' });
  t.same(p.withRemembered(auth('s1')), { username: 'ann', password: 'pw', device_id: 'D', inhibit_login: true, ...auth('s1') }, 'registration fields only');
  t.same(p.withRemembered({ ...auth('s1'), username: 'bea' }).username, 'bea', "the retry's own field");
  t.same(p.withRemembered(auth('other')), auth('other'), 'another session: nothing');
  t.same(p.withRemembered({ username: 'cat' }), { username: 'cat' }, 'no session: nothing');
  p.remember('s1', { initial_device_display_name: 'phone' });
  t.same(p.withRemembered(auth('s1')).username, 'ann', 'a later request adds to what was kept');
  t.same(p.withRemembered(auth('s1')).initial_device_display_name, 'phone');
});

t.test('kept for half an hour, and for the newest thousand sessions', async (t) => {
  let now = 0;
  const p = new RegistrationParams(() => now);
  p.remember('old', { username: 'old' });
  now = 30 * 60_000 - 1;
  t.equal(p.withRemembered(auth('old')).username, 'old', 'just within');
  now += 1;
  t.equal(p.withRemembered(auth('old')).username, undefined, 'then forgotten');
  for (let i = 0; i < 1001; i++) p.remember(`s${i}`, { username: `u${i}` });
  t.equal(p.withRemembered(auth('s0')).username, undefined, 'the oldest of 1001 is dropped');
  t.equal(p.withRemembered(auth('s1')).username, 'u1');
  t.equal(p.withRemembered(auth('s1000')).username, 'u1000');
});
