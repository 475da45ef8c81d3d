/**
 * Usage, retention and clean-up on the repository itself, on a clock the
 * test moves: what the dashboard shows and what the maintenance jobs do.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { MediaFiles } from '../../../src/components/mediaapi/files.js';
import { MediaRepository } from '../../../src/components/mediaapi/repository.js';
import { MediaStore, ops, type MediaRecord } from '../../../src/components/mediaapi/storage.js';
import { Thumbnailer } from '../../../src/components/mediaapi/thumbnailer.js';
import { Thumbnails } from '../../../src/components/mediaapi/thumbnails.js';
import { MediaUpkeep } from '../../../src/components/mediaapi/upkeep.js';
import { MEDIA_DEFAULTS, type MediaConfig } from '../../../src/platform/config/media.js';
import { Database } from '../../../src/platform/storage/database.js';
import { still } from '../../helpers/images.js';
import { tempDir } from '../../helpers/server.js';

const DAY = 86_400_000;
const SERVER = 'upkeep.test';

async function setup(t: Test, retention: Partial<MediaConfig['retention']> = {}, avatars: string[] = []) {
  const dir = tempDir('nt-upkeep-');
  const db = await Database.open(join(dir, 'db'));
  let clock = Date.UTC(2026, 0, 1);
  const config: MediaConfig = { ...MEDIA_DEFAULTS, min_free_bytes: 0, retention: { ...MEDIA_DEFAULTS.retention, ...retention } };
  const files = new MediaFiles(join(dir, 'media'));
  await files.init();
  const repo = new MediaRepository({ store: new MediaStore(db, SERVER), files, serverName: SERVER, config, logger: pino({ level: 'silent' }), now: () => clock });
  const upkeep = new MediaUpkeep(repo, config, () => async (m: MediaRecord) => avatars.includes(m.media_id));
  const thumbnails = new Thumbnails(repo, new Thumbnailer(config.max_thumbnail_pixels));
  t.teardown(() => db.close());
  const upload = (user: string | null, body: Buffer, kind: MediaRecord['kind'] = 'upload') =>
    repo.upload(Readable.from([body]), { user_id: user, kind, content_type: 'application/octet-stream', upload_name: null });
  return {
    repo,
    upkeep,
    thumbnails,
    files,
    upload,
    advance: (ms: number) => (clock += ms),
    now: () => clock,
  };
}

t.test('usage', async (t) => {
  const s = await setup(t);
  const shared = randomBytes(1000);
  await s.upload('@a:x', shared);
  await s.upload('@b:x', shared);
  await s.upload('@a:x', randomBytes(500));
  await s.upload('@c:x', randomBytes(4000));
  await s.upload(null, randomBytes(100), 'preview');
  const png = await s.upload('@a:x', await still('png', 500, 500));
  await s.thumbnails.get(png, { width: 96, height: 96, method: 'crop', animated: false });
  const u = await s.upkeep.usage(2);
  t.equal(u.files, 5, 'distinct files: the shared one once');
  t.equal(u.total_bytes, 1000 + 500 + 4000 + 100 + png.size, 'bytes on disk');
  t.equal(u.media, 6, 'media ids');
  t.same(u.local, { media: 6, bytes: 2000 + 500 + 4000 + 100 + png.size });
  t.same(u.remote, { media: 0, bytes: 0 });
  t.equal(u.thumbnails.files, 1);
  t.ok(u.thumbnails.bytes > 0);
  t.same(
    u.top_users.map((x) => x.user_id),
    png.size + 1500 > 4000 ? ['@a:x', '@c:x'] : ['@c:x', '@a:x'],
    'the top users by bytes, as many as asked',
  );
  t.equal(u.top_users.find((x) => x.user_id === '@a:x')?.media, 3);
  t.type(u.disk_free_bytes, 'number');
});

t.test('retention', async (t) => {
  const s = await setup(t, { local_max_idle_days: 30, remote_max_age_days: 7 }, []);
  const old = await s.upload('@a:x', randomBytes(100));
  const used = await s.upload('@a:x', randomBytes(100));
  const avatar = await s.upload('@a:x', randomBytes(100));
  const safe = await s.upload('@a:x', randomBytes(100));
  const preview = await s.upload(null, randomBytes(100), 'preview');
  await s.repo.update(SERVER, safe.media_id, (m) => ({ ...m, safe_from_quarantine: true }));
  // A cached copy of another server's media (what federation will store).
  const remote: MediaRecord = { ...preview, origin: 'remote.example', media_id: 'RemoteMedia1', kind: 'remote' };
  const blob = (await s.repo.store.getBlob(preview.sha256))!;
  await s.repo.store.write([ops.putMedia(remote), ops.putBlob(preview.sha256, { ...blob, refs: blob.refs + 1 })]);

  s.advance(20 * DAY);
  // Fetched on day 20: its idle time starts again.
  s.repo.touch((await s.repo.store.getMedia(SERVER, used.media_id))!);
  await s.repo.serial.run(async () => undefined);
  s.advance(20 * DAY);

  const upkeep = new MediaUpkeep(s.repo, s.repo.config, () => async (m: MediaRecord) => m.media_id === avatar.media_id);
  const r = await upkeep.applyRetention();
  t.same({ local: r.deleted_local, remote: r.deleted_remote, kept: r.kept }, { local: 1, remote: 2, kept: 2 }, 'idle local media, old remote media and preview images go; the avatar and the protected file stay');
  t.equal(r.bytes_freed, 200, 'two files freed (the remote copy and the preview shared one)');
  t.notOk(await s.repo.store.getMedia(SERVER, old.media_id), 'idle for 40 days: deleted');
  t.ok(await s.repo.store.getMedia(SERVER, used.media_id), 'fetched 20 days ago: kept');
  t.ok(await s.repo.store.getMedia(SERVER, avatar.media_id), 'a current avatar: kept');
  t.ok(await s.repo.store.getMedia(SERVER, safe.media_id), 'protected: kept');
  t.notOk(existsSync(s.files.contentPath(old.sha256)), 'its file is gone');
  t.notOk(existsSync(s.files.contentPath(preview.sha256)), 'and the shared remote/preview file once both went');
  t.same((await s.upkeep.usage()).top_users, [{ user_id: '@a:x', media: 3, bytes: 300 }], 'usage follows');

  const none = await upkeep.applyRetention();
  t.same({ l: none.deleted_local, r: none.deleted_remote }, { l: 0, r: 0 }, 'a second run finds nothing');
});

t.test('retention is off by default for local media', async (t) => {
  const s = await setup(t);
  await s.upload('@a:x', randomBytes(10));
  s.advance(3650 * DAY);
  const r = await s.upkeep.applyRetention();
  t.equal(r.deleted_local, 0, 'ten years later, still there');
});

t.test('clean-up', async (t) => {
  const s = await setup(t);
  const kept = await s.upload('@a:x', await still('png', 300, 300));
  await s.thumbnails.get(kept, { width: 96, height: 96, method: 'crop', animated: false });
  const pending = await s.repo.createPending('@a:x');
  const long = new Date(s.now() - 2 * 3600_000);

  // What a crash leaves: a half-written upload, a file whose record never landed, thumbnails of deleted content.
  const deadTemp = join(s.files.tmpDir, 'dead-upload');
  writeFileSync(deadTemp, randomBytes(1000));
  utimesSync(deadTemp, long, long);
  const orphanSha = 'ab'.repeat(32);
  mkdirSync(join(s.files.contentPath(orphanSha), '..'), { recursive: true });
  writeFileSync(s.files.contentPath(orphanSha), randomBytes(2000));
  utimesSync(s.files.contentPath(orphanSha), long, long);
  const ghostSha = 'cd'.repeat(32);
  mkdirSync(s.files.thumbDirOf(ghostSha), { recursive: true });
  writeFileSync(s.files.thumbPath(ghostSha, '96x96-crop.png'), randomBytes(300));
  await s.repo.store.write([ops.putThumb(ghostSha, '96x96-crop', { file: '96x96-crop.png', content_type: 'image/png', width: 96, height: 96, size: 300, created_ts: 0 })]);

  s.advance(25 * 3600_000);
  const youngTemp = join(s.files.tmpDir, 'upload-under-way');
  writeFileSync(youngTemp, randomBytes(10));
  utimesSync(youngTemp, new Date(s.now()), new Date(s.now()));
  const r = await s.upkeep.cleanup();
  t.same(
    { thumbs: r.orphan_thumbnails, files: r.orphan_files, temp: r.temp_files, pending: r.expired_pending },
    { thumbs: 1, files: 1, temp: 1, pending: 1 },
    'one of each',
  );
  t.equal(r.bytes_freed, 300 + 2000 + 1000, 'bytes freed');
  t.notOk(existsSync(deadTemp), 'the dead temp file is gone');
  t.ok(existsSync(youngTemp), 'a young temp file may be an upload under way: kept');
  t.notOk(existsSync(s.files.contentPath(orphanSha)), 'the unreferenced content file is gone');
  t.notOk(existsSync(s.files.thumbDirOf(ghostSha)), 'thumbnails of deleted content are gone');
  t.same(await s.repo.store.thumbsOf(ghostSha), [], 'and their records');
  t.notOk(await s.repo.store.getPending(pending.media_id), 'the expired /create id is gone');
  t.ok(existsSync(s.files.contentPath(kept.sha256)), 'live content stays');
  t.equal(readdirSync(s.files.thumbDirOf(kept.sha256)).length, 1, 'with its thumbnail');
});
