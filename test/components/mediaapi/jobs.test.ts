/**
 * The media jobs as the maintenance component runs them (scheduled, or
 * "run now" from the dashboard), calling the MediaAPI over its socket; and
 * the usage figures the dashboard reads.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { maintenanceApi } from '../../../src/components/maintenance/api.js';
import { mediaApi } from '../../../src/components/mediaapi/api.js';
import { startComponents } from '../../helpers/components.js';
import { setMediaConfig, socketCall } from '../../helpers/media.js';
import { userApi } from '../../../src/components/userapi/api.js';
import { initDataDir } from '../../../src/platform/config/init.js';
import { join } from 'node:path';
import { tempDir } from '../../helpers/server.js';

t.test('media jobs and usage', async (t) => {
  const dataDir = join(tempDir(), 'data');
  initDataDir({ dataDir, serverName: 'jobs.test', tls: 'off', bind: '127.0.0.1', mode: 'monolith' });
  setMediaConfig(dataDir, { retention: { local_max_age_days: 1 } });
  // One process for the three; the test calls each over that process's socket.
  const media = await startComponents(['userapi', 'mediaapi', 'maintenance'], { dataDir, serverName: 'jobs.test' });
  t.teardown(() => media.stop());
  const created = await media.apis.get(userApi).createAccount({ username: 'alice', password: 'password of alice', login: { device_id: 'D' } });
  const token = created.login!.access_token;
  for (const size of [1000, 2000]) {
    const r = await socketCall(media.group.socketPath, 'POST', '/_matrix/media/v3/upload', { token, body: randomBytes(size) });
    t.equal(r.status, 200);
  }

  const usage = await media.apis.get(mediaApi).usage({ top: 5 });
  t.match(usage, { total_bytes: 3000, files: 2, media: 2, top_users: [{ user_id: created.user_id, media: 2, bytes: 3000 }] }, 'usage over the internal API, as the dashboard asks');

  const maint = media;
  const jobs = (await maint.apis.get(maintenanceApi).listJobs({})).jobs;
  t.match(jobs.filter((j) => j.name.startsWith('media-')), [
    { name: 'media-retention', schedule: '23 3 * * *', next_run: Number },
    { name: 'media-cleanup', schedule: '53 4 * * *', next_run: Number },
  ], 'both media jobs are scheduled');
  const cleanup = await maint.apis.get(maintenanceApi).runJob({ name: 'media-cleanup' });
  t.match(cleanup, { ok: true, summary: /^0 orphan thumbnails, 0 orphan files, 0 temp files, 0 expired upload ids removed; 0\.0 MiB freed$/ }, 'clean-up runs and reports');
  const retention = await maint.apis.get(maintenanceApi).runJob({ name: 'media-retention' });
  t.match(retention, { ok: true, summary: /^0 local and 0 remote media deleted/ }, 'retention runs: nothing is a day old yet');
  const listed = (await maint.apis.get(maintenanceApi).listJobs({})).jobs.find((j) => j.name === 'media-retention');
  t.match(listed?.last_run, { ok: true, trigger: 'manual' }, 'the result is kept for the dashboard');
});
