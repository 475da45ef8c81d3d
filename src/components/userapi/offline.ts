/**
 * Account creation while the server is stopped (`neurite user add` with no
 * supervisor to ask): opens the UserAPI's database directly. LevelDB's lock
 * makes this fail, rather than corrupt anything, should the server be
 * running after all.
 */
import type { NeuriteConfig } from '../../platform/config/schema.js';
import { LogProducer } from '../../platform/log/producer.js';
import { openComponentDatabase } from '../../platform/storage/index.js';
import { Accounts } from './accounts.js';
import { KeyedQueue } from '../../platform/storage/keyed-queue.js';
import { Sessions } from './sessions.js';
import { UserStorage } from './storage.js';
import { accountDataChanges, deviceChanges, userChanges } from './topics.js';

export async function addUserOffline(opts: { dataDir: string; config: NeuriteConfig; username: string; password: string; admin: boolean }): Promise<{ user_id: string }> {
  const db = await openComponentDatabase(opts.dataDir, 'userapi', { durability: opts.config.durability });
  try {
    const producer = new LogProducer(db, [accountDataChanges, deviceChanges, userChanges]);
    await producer.open();
    const storage = new UserStorage(db);
    const svc = { serverName: opts.config.server_name, storage, producer, locks: new KeyedQueue(), now: Date.now };
    const accounts = new Accounts(svc, new Sessions(svc));
    const { user_id } = await accounts.create({ username: opts.username, password: opts.password, admin: opts.admin });
    await producer.close();
    return { user_id };
  } finally {
    await db.close();
  }
}
