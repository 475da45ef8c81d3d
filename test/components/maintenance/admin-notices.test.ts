/**
 * Maintenance telling the admins by server notice (an update waiting for
 * their consent, a nearly full card, an update rolled back): every admin
 * and no one else gets the message, through the ClientAPI's internal API,
 * in their notices room; the same key tells no one twice, also after a
 * restart of the storage.
 */
import { join } from 'node:path';
import t from 'tap';
import { maintenanceApi } from '../../../src/components/maintenance/api.js';
import { roomserverApi } from '../../../src/components/roomserver/api.js';
import { appPaths, recordOutcome } from '../../../src/supervisor/update/slots.js';
import { tellAdmins } from '../../../src/components/maintenance/admin-notices.js';
import { LOW_DISK_BYTES, lowDiskNotice } from '../../../src/components/maintenance/jobs/health.js';
import { MaintenanceStorage } from '../../../src/components/maintenance/storage.js';
import { userApi } from '../../../src/components/userapi/api.js';
import { Database } from '../../../src/platform/storage/database.js';
import { startComponents } from '../../helpers/components.js';
import { tempDir } from '../../helpers/server.js';

const h = await startComponents(['roomserver', 'serverkeyapi', 'userapi', 'eduserver', 'keyserver', 'syncapi', 'clientapi', 'maintenance']);
const dbPath = join(tempDir(), 'maintenance-db');
let db = await Database.open(dbPath);
t.teardown(async () => {
  await db.close();
  await h.stop();
});
const ua = h.apis.get(userApi);
const rs = h.apis.get(roomserverApi);
const boss = (await ua.createAccount({ username: 'boss', password: 'correct horse battery', admin: true })).user_id;
const deputy = (await ua.createAccount({ username: 'deputy', password: 'correct horse battery', admin: true })).user_id;
const member = (await ua.createAccount({ username: 'member', password: 'correct horse battery' })).user_id;

/** The server notices (messages from @_server) a user has, in the rooms they are invited to or in. */
async function noticesOf(userId: string): Promise<string[]> {
  const out: string[] = [];
  for (const { room_id } of (await rs.queryRoomsForUser({ user_id: userId })).rooms) {
    const { events } = await rs.queryCurrentState({ room_id, keys: [['m.room.create', '']] });
    if (events[0]?.pdu.sender !== `@_server:${h.serverName}`) continue;
    // The notices room holds the messages; read them from the room's latest events back to its creation.
    let ids = (await rs.queryRoom({ room_id }))!.latest_event_ids;
    while (ids.length > 0) {
      const [ev] = (await rs.queryEvents({ event_ids: ids })).events;
      if (!ev) break;
      if (ev.pdu.type === 'm.room.message') out.push(String(ev.pdu.content.body));
      ids = (ev.pdu.prev_events as string[]) ?? [];
    }
  }
  return out;
}

t.test('an update waiting for consent: every admin told once, nobody else', async (t) => {
  const storage = new MaintenanceStorage(db);
  const notice = { key: 'update-available-9.9.9', type: 'org.neurite.update_available', body: 'Neurite 9.9.9 is ready to install.' };
  t.equal(await tellAdmins(h.apis, storage, notice), 2, 'two admins told');
  t.same(await noticesOf(boss), ['Neurite 9.9.9 is ready to install.']);
  t.same(await noticesOf(deputy), ['Neurite 9.9.9 is ready to install.']);
  t.same(await noticesOf(member), [], 'not a member who is no admin');
  const membership = await rs.queryMembership({ room_id: (await rs.queryRoomsForUser({ user_id: boss })).rooms[0]!.room_id, user_id: boss });
  t.equal(membership.membership, 'invite', 'the admin is invited to the notices room');

  // Told once, also with the storage opened again (a restart).
  await db.close();
  db = await Database.open(dbPath);
  t.equal(await tellAdmins(h.apis, new MaintenanceStorage(db), notice), 0, 'the same key again tells no one');
  t.same(await noticesOf(boss), ['Neurite 9.9.9 is ready to install.'], 'no second message');
  t.equal(await tellAdmins(h.apis, new MaintenanceStorage(db), { ...notice, key: 'update-available-9.9.10', body: 'Neurite 9.9.10 is ready to install.' }), 2, 'a newer version is news');
  t.same((await noticesOf(boss)).sort(), ['Neurite 9.9.10 is ready to install.', 'Neurite 9.9.9 is ready to install.'], 'in the same room');
});

t.test('a nearly full card: a notice a day while it lasts', async (t) => {
  const GB = 1024 ** 3;
  const sample = (free: number, ts = Date.UTC(2026, 10, 27, 8)) => ({ ts, cpu: 5, load1: 0.1, temp: null, mem_used: 1, mem_total: 2, disk_used: 32 * GB - free, disk_total: 32 * GB, uptime_s: 1, net_rx: 0, net_tx: 0 });
  t.equal(lowDiskNotice(sample(5 * GB)), undefined, 'plenty of space: nothing');
  t.equal(lowDiskNotice(sample(LOW_DISK_BYTES)), undefined, 'exactly at the threshold: nothing yet');
  const low = lowDiskNotice(sample(200 * 1024 ** 2))!;
  t.match(low, { key: 'disk-low-2026-11-27', type: 'org.neurite.disk_low' });
  t.match(low.body, /200 MB free of 32,768 MB/, 'says how much is left');
  const huge = lowDiskNotice({ ...sample(0), disk_used: 2048 * GB - 999 * 1024 ** 2, disk_total: 2048 * GB })!;
  t.match(huge.body, /999 MB free of 2,097,152 MB/, 'commas between every three digits, none in three or fewer');
  t.equal(lowDiskNotice(sample(200 * 1024 ** 2, Date.UTC(2026, 10, 27, 23)))!.key, low.key, 'the same day: the same key (told once)');
  t.not(lowDiskNotice(sample(200 * 1024 ** 2, Date.UTC(2026, 10, 28, 1)))!.key, low.key, 'the next day: told again');
  t.equal(lowDiskNotice({ ...sample(0), disk_total: 0, disk_used: 0 }), undefined, 'no disk figures: nothing');
  // Through the same path as the update notice.
  t.equal(await tellAdmins(h.apis, new MaintenanceStorage(db), low), 2, 'both admins told');
  t.ok((await noticesOf(deputy)).some((b) => /nearly full/.test(b)), 'the deputy has it');
});

t.test('an update rolled back: the update-outcome job tells the admins why, once', async (t) => {
  const jobs = h.apis.get(maintenanceApi);
  t.match(await jobs.runJob({ name: 'update-outcome' }), { ok: true, summary: 'no rollback to tell of' }, 'nothing recorded: nothing to tell');
  // What the supervisor records when a version fails its health window.
  recordOutcome(appPaths(h.dataDir), { result: 'rolled-back', version: '0.3.0', slot: 'b', reason: 'version 0.3.0 was rolled back to 0.2.0: process neurite restarted during the health window' });
  t.match(await jobs.runJob({ name: 'update-outcome' }), { ok: true, summary: 'the rollback was told to 2 admins' });
  t.ok((await noticesOf(boss)).some((b) => /0\.3\.0 was installed but did not pass its health check[\s\S]*restarted during the health window/.test(b)), 'the admin reads the version and the reason');
  t.match(await jobs.runJob({ name: 'update-outcome' }), { summary: 'the last rollback was told already' }, 'a later run tells no one again');
  recordOutcome(appPaths(h.dataDir), { result: 'installed', version: '0.3.1', slot: 'b' });
  t.match(await jobs.runJob({ name: 'update-outcome' }), { summary: 'no rollback to tell of' }, 'an update that was kept: nothing to tell');
});
