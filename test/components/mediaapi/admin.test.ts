/**
 * Synapse's media admin endpoints as admin tools call them: a user's media
 * paged and ordered, deletion (a shared file stays until its last media id
 * goes; thumbnails go with their file), quarantine and protection, bulk
 * deletion by last access, statistics; non-admins refused.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { still } from '../../helpers/images.js';
import { downloadPath, splitMxc, startMedia, thumbnailPath } from '../../helpers/media.js';

function count(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : n++;
  };
  walk(dir);
  return n;
}

t.test('media admin', async (t) => {
  const m = await startMedia();
  t.teardown(() => m.stop());
  const admin = await m.user('admin', { admin: true });
  const alice = await m.user('alice');
  const bob = await m.user('bob');
  const A = (method: string, path: string) => m.call(method, `/_synapse/admin/v1${path}`, { token: admin.token });
  const alicePath = `/users/${encodeURIComponent(alice.user_id)}/media`;

  const uploads: string[] = [];
  for (let i = 0; i < 5; i++) uploads.push(await m.upload(alice, Buffer.from(`file ${i}`.repeat(i + 1)), 'text/plain', `f${i}.txt`));
  const ids = uploads.map((u) => splitMxc(u).id);

  await t.test('a user\'s media', async (t) => {
    const all = await A('GET', alicePath);
    t.equal(all.status, 200);
    t.equal(all.json().total, 5);
    t.same(all.json().media.map((x: { media_id: string }) => x.media_id), ids, 'oldest first by default');
    t.match(all.json().media[0], { media_id: ids[0], media_type: 'text/plain', media_length: 6, upload_name: 'f0.txt', quarantined_by: null, safe_from_quarantine: false, created_ts: Number, last_access_ts: Number });
    t.notOk('next_token' in all.json(), 'no next_token on the last page');
    const page = await A('GET', `${alicePath}?from=1&limit=2`);
    t.same(page.json().media.map((x: { media_id: string }) => x.media_id), ids.slice(1, 3), 'from and limit');
    t.equal(page.json().next_token, 3, 'next_token');
    const bySize = await A('GET', `${alicePath}?order_by=media_length&dir=b`);
    t.same(bySize.json().media.map((x: { media_length: number }) => x.media_length), [30, 24, 18, 12, 6], 'order_by=media_length&dir=b');
    t.equal((await A('GET', `${alicePath}?order_by=nonsense`)).status, 400, 'an unknown order_by: 400');
    t.equal((await A('GET', `/users/${encodeURIComponent('@nobody:media.test')}/media`)).status, 404, 'an unknown user: 404');
    t.equal((await A('GET', `/users/${encodeURIComponent('@alice:elsewhere')}/media`)).status, 400, 'a remote user: 400');
  });

  await t.test('media info', async (t) => {
    const r = await A('GET', `/media/${m.serverName}/${ids[0]}`);
    t.match(r.json().media_info, { media_origin: m.serverName, media_id: ids[0], user_id: alice.user_id, media_type: 'text/plain', media_length: 6, upload_name: 'f0.txt', sha256: /^[0-9a-f]{64}$/ });
    t.equal((await A('GET', `/media/${m.serverName}/Unknown`)).status, 404);
  });

  await t.test('non-admins are refused', async (t) => {
    const r = await m.call('GET', `/_synapse/admin/v1${alicePath}`, { token: alice.token });
    t.match({ status: r.status, ...r.json() }, { status: 403, errcode: 'M_FORBIDDEN' }, 'a user: 403');
    const d = await m.call('DELETE', `/_synapse/admin/v1/media/${m.serverName}/${ids[0]}`, { token: bob.token });
    t.equal(d.status, 403, 'a user cannot delete');
    const n = await m.call('GET', `/_synapse/admin/v1${alicePath}`);
    t.equal(n.status, 401, 'no token: 401');
  });

  await t.test('quarantine and protection', async (t) => {
    const target = uploads[0]!;
    t.same((await A('POST', `/media/quarantine/${m.serverName}/${ids[0]}`)).json(), {}, 'quarantine: {}');
    const q = await m.call('GET', downloadPath(target), { token: bob.token });
    t.match({ status: q.status, ...q.json() }, { status: 404, errcode: 'M_NOT_FOUND' }, 'quarantined media is served to nobody');
    t.equal((await A('GET', alicePath)).json().media[0].quarantined_by, admin.user_id, 'quarantined_by names the admin');
    t.same((await A('POST', `/media/unquarantine/${m.serverName}/${ids[0]}`)).json(), {});
    t.equal((await m.call('GET', downloadPath(target), { token: bob.token })).status, 200, 'served again');

    t.same((await A('POST', `/media/protect/${ids[1]}`)).json(), {}, 'protect: {}');
    const uq = await A('POST', `/user/${encodeURIComponent(alice.user_id)}/media/quarantine`);
    t.same(uq.json(), { num_quarantined: 4 }, "a user's media quarantined, except the protected one");
    t.equal((await m.call('GET', downloadPath(uploads[1]!), { token: bob.token })).status, 200, 'the protected file is served');
    t.equal((await m.call('GET', downloadPath(uploads[2]!), { token: bob.token })).status, 404, 'the others are not');
    for (const id of ids) await A('POST', `/media/unquarantine/${m.serverName}/${id}`);
    await A('POST', `/media/unprotect/${ids[1]}`);
    t.equal((await A('POST', '/media/protect/NoSuchMedia')).status, 404, 'protecting unknown media: 404');
  });

  await t.test('deleting: shared files stay until their last media id goes, thumbnails go with the file', async (t) => {
    const png = await still('png', 600, 400);
    const a = await m.upload(alice, png, 'image/png');
    const b = await m.upload(bob, png, 'image/png');
    t.equal((await m.call('GET', thumbnailPath(a, { width: 96, height: 96, method: 'crop' }), { token: bob.token })).status, 200);
    const thumbs = count(join(m.mediaDir, 'thumbnails'));
    t.ok(thumbs >= 1, 'a thumbnail on disk');
    const filesBefore = count(join(m.mediaDir, 'content'));

    const del = await A('DELETE', `/media/${m.serverName}/${splitMxc(a).id}`);
    t.same(del.json(), { deleted_media: [splitMxc(a).id], total: 1 });
    t.equal((await m.call('GET', downloadPath(a), { token: bob.token })).status, 404, 'the deleted id: 404');
    const still2 = await m.call('GET', downloadPath(b), { token: bob.token });
    t.ok(still2.body.equals(png), 'the other id of the same file still downloads');
    t.equal(count(join(m.mediaDir, 'content')), filesBefore, 'the file stays');

    await A('DELETE', `/media/${m.serverName}/${splitMxc(b).id}`);
    t.equal(count(join(m.mediaDir, 'content')), filesBefore - 1, 'the last id gone: the file goes');
    t.equal(count(join(m.mediaDir, 'thumbnails')), thumbs - 1, 'and its thumbnail');
    t.equal((await A('DELETE', `/media/${m.serverName}/${splitMxc(b).id}`)).status, 404, 'deleting again: 404');
    t.equal((await A('DELETE', `/media/other.example/${splitMxc(b).id}`)).status, 400, 'remote media is not deleted this way');
  });

  await t.test('bulk deletion and statistics', async (t) => {
    const stats = await A('GET', '/statistics/users/media?order_by=media_length&dir=b');
    t.equal(stats.status, 200);
    t.match(stats.json().users[0], { user_id: alice.user_id, media_count: 5, media_length: 90, displayname: String });
    t.equal(stats.json().total, 1, 'only users with media');
    const bobMedia = await m.upload(bob, Buffer.from('bob'), 'text/plain');
    t.equal((await A('GET', '/statistics/users/media')).json().total, 2);
    t.equal((await A('GET', `/statistics/users/media?search_term=bo`)).json().users[0].user_id, bob.user_id, 'search_term');

    t.equal((await A('POST', '/media/delete')).status, 400, 'before_ts is required');
    const keep = await A('POST', `/media/delete?before_ts=${Date.now() + 60_000}&size_gt=20`);
    t.same(keep.json().deleted_media.sort(), [ids[3], ids[4]].sort(), 'last accessed before before_ts and larger than size_gt');
    t.equal((await A('POST', `/media/other.example/delete?before_ts=1`)).status, 400, 'another server: 400');
    const rest = await A('POST', `/media/${m.serverName}/delete?before_ts=${Date.now() + 60_000}`);
    t.ok(rest.json().deleted_media.includes(splitMxc(bobMedia).id), 'everything else old enough');

    const del = await A('DELETE', `/users/${encodeURIComponent(alice.user_id)}/media`);
    t.same(del.json(), { deleted_media: [], total: 0 }, "nothing of alice's left");
    t.same((await A('POST', '/purge_media_cache?before_ts=' + Date.now())).json(), { deleted: 0 }, 'purge_media_cache: no remote media cached');
  });
});

t.test('deleting a user\'s media', async (t) => {
  const m = await startMedia();
  t.teardown(() => m.stop());
  const admin = await m.user('admin', { admin: true });
  const carol = await m.user('carol');
  for (let i = 0; i < 3; i++) await m.upload(carol, Buffer.from(`c${i}`), 'text/plain');
  const path = `/_synapse/admin/v1/users/${encodeURIComponent(carol.user_id)}/media`;
  const first = await m.call('DELETE', `${path}?limit=2`, { token: admin.token });
  t.equal(first.json().total, 2, 'a page of two deleted');
  t.equal((await m.call('GET', path, { token: admin.token })).json().total, 1, 'one left');
  const quota = await m.call('GET', '/_synapse/admin/v1/statistics/users/media', { token: admin.token });
  t.match(quota.json().users[0], { media_count: 1, media_length: 2 }, 'usage follows deletions');
});
