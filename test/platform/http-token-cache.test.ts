/**
 * Token answers kept by a component with client routes
 * (platform/http/token-cache.ts), against a token check whose answers the
 * test sets: kept for a moment, never past the token's expiry,
 * never for an unknown token, forgotten when told, and not kept when the
 * lookup overlapped the forgetting. The end-to-end tests (accounts,
 * admin-users, in split) check every revocation through real processes,
 * and tokenCheckFor's wiring.
 */
import t from 'tap';
import type { TokenAnswer, TokenCheck } from '../../src/platform/http/auth.js';
import { forgetTokensApi, tokenCheckFor, TokenCache } from '../../src/platform/http/token-cache.js';
import { ApiDirectory } from '../../src/platform/ipc/directory.js';

const owner = { user_id: '@alice:example.org', device_id: 'DEV', is_guest: false, is_admin: false };

function userapi(answer: (token: string) => TokenAnswer | Promise<TokenAnswer>) {
  const asked: string[] = [];
  const api: TokenCheck = async (req) => (asked.push(req.token), answer(req.token));
  return { api, asked };
}

t.test('an answer is kept for the TTL, then asked for again', async (t) => {
  let now = 1_000;
  const u = userapi(() => ({ owner }));
  const cache = new TokenCache(u.api, () => now, 1000);
  t.same(await cache.query({ token: 'a' }), { owner });
  now += 999;
  t.same(await cache.query({ token: 'a' }), { owner });
  t.equal(u.asked.length, 1, 'the second request within the TTL did not ask');
  now += 1;
  await cache.query({ token: 'a' });
  t.equal(u.asked.length, 2, 'after the TTL it asks again');
});

t.test('never past the token expiry, and unknown tokens are always asked about', async (t) => {
  let now = 1_000;
  const u = userapi((token) => (token === 'expiring' ? { owner, expires_at: 1_100 } : { owner: null, soft_logout: false }));
  const cache = new TokenCache(u.api, () => now, 1000);
  await cache.query({ token: 'expiring' });
  now = 1_099;
  await cache.query({ token: 'expiring' });
  t.equal(u.asked.length, 1, 'kept until just before it expires');
  now = 1_100;
  await cache.query({ token: 'expiring' });
  t.equal(u.asked.length, 2, 'asked again once it has expired');
  await cache.query({ token: 'unknown' });
  await cache.query({ token: 'unknown' });
  t.equal(u.asked.filter((x) => x === 'unknown').length, 2, 'an unknown token is not kept');
});

t.test('forgetAll drops every answer, and a lookup that overlapped it keeps nothing', async (t) => {
  let release: (a: TokenAnswer) => void = () => {};
  let slow = false;
  const u = userapi(() => (slow ? new Promise<TokenAnswer>((r) => (release = r)) : { owner }));
  const cache = new TokenCache(u.api, () => 1_000, 1000);
  await cache.query({ token: 'a' });
  cache.forgetAll();
  await cache.query({ token: 'a' });
  t.equal(u.asked.length, 2, 'asked again after forgetAll');

  slow = true;
  const overlapping = cache.query({ token: 'b' });
  cache.forgetAll();
  release({ owner });
  t.same(await overlapping, { owner }, 'the overlapping request still gets its answer');
  slow = false;
  await cache.query({ token: 'b' });
  t.equal(u.asked.filter((x) => x === 'b').length, 2, 'but it was not kept');
});

t.test('tokenCheckFor: a cache only when the UserAPI runs elsewhere, offered to be forgotten', async (t) => {
  const u = userapi(() => ({ owner }));
  const here = new ApiDirectory({ socketFor: () => undefined });
  t.equal(tokenCheckFor({ name: 'syncapi', apis: here }, u.api), u.api, 'the UserAPI in this process: its own check, nothing kept twice');
  const nowhere = new ApiDirectory({
    socketFor: (c) => {
      throw new Error(`no process runs ${c}`);
    },
  });
  t.equal(tokenCheckFor({ name: 'syncapi', apis: nowhere }, u.api), u.api, 'no UserAPI in the layout: nothing kept');

  const elsewhere = new ApiDirectory({ socketFor: (c) => (c === 'userapi' ? '/nonexistent/userapi.sock' : undefined) });
  t.teardown(() => elsewhere.close());
  const cached = tokenCheckFor({ name: 'syncapi', apis: elsewhere }, u.api);
  await cached({ token: 'a' });
  await cached({ token: 'a' });
  t.equal(u.asked.length, 1, 'the UserAPI in another process: answers kept');
  await elsewhere.get(forgetTokensApi('syncapi')).forgetTokens({});
  await cached({ token: 'a' });
  t.equal(u.asked.length, 2, 'forgetTokens, served for the component, forgets them');
  t.throws(() => tokenCheckFor({ name: 'keyserver', apis: elsewhere }, u.api), /not in TOKEN_CACHES/, 'a component the UserAPI would not tell cannot keep answers');
});
