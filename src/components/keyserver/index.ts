/**
 * KeyServer: end-to-end encryption keys of local users (device keys,
 * one-time and fallback keys, cross-signing keys and signatures) and their
 * server-side key backups, in its own database. Whose keys changed goes out
 * on the key_changes topic in the same batch as the change; the UserAPI's
 * device_changes tell it when a device, and so its keys, goes.
 */
import { serverNameOf } from '../../core/identifiers.js';
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { userApi } from '../userapi/api.js';
import { deviceChanges, type DeviceChange } from '../userapi/topics.js';
import { keyServerApi, type KeyServerAPI } from './api.js';
import { Backups } from './backup.js';
import { applyDeviceChanges } from './consumers/device-changes.js';
import { CrossSigning } from './cross-signing.js';
import { DeviceKeyStore } from './device-keys.js';
import { KeyQueries } from './query.js';
import { noFederation } from './remote.js';
import { keyChanges } from './topics.js';
import { KeyedQueue } from '../../platform/storage/keyed-queue.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const db = await ctx.openDatabase();
  const producer = await ctx.openProducer(db, [keyChanges]);
  const serverName = ctx.config.server_name;
  // Looked up per call: a process without a UserAPI anywhere (tests) must still start.
  const userapi = () => ctx.apis.get(userApi);
  const devicesOf = async (userId: string) => (await userapi().queryDevices({ user_id: userId })).devices;
  const locks = new KeyedQueue();

  const devices = new DeviceKeyStore(db, producer, locks, async (userId, deviceId) => (await userapi().queryDevice({ user_id: userId, device_id: deviceId }))?.display_name);
  const isLocal = (userId: string) => serverNameOf(userId) === serverName;
  const crossSigning = new CrossSigning(db, producer, locks, devices, async (userId) => (await devicesOf(userId)).map((d) => d.device_id), isLocal);
  const queries = new KeyQueries(serverName, devices, crossSigning, devicesOf, noFederation);
  const backups = new Backups(db, locks);

  const api: KeyServerAPI = {
    uploadKeys: (req) => devices.upload(req),
    queryKeyCounts: (req) => devices.counts(req.user_id, req.device_id),
    queryKeys: (req) => queries.query(req),
    claimKeys: (req) => queries.claim(req),

    uploadCrossSigningKeys: (req) => crossSigning.upload(req),
    uploadSignatures: async (req) => ({ failures: await crossSigning.uploadSignatures(req.user_id, req.signatures) }),

    createBackup: (req) => backups.create(req.user_id, req.algorithm, req.auth_data),
    queryBackup: (req) => backups.query(req.user_id, req.version),
    updateBackup: (req) => backups.update(req.user_id, req.version, req.algorithm, req.auth_data),
    deleteBackup: (req) => backups.delete(req.user_id, req.version),
    putBackupKeys: (req) => backups.put(req.user_id, req.version, req.rooms),
    queryBackupKeys: (req) => backups.get(req),
    deleteBackupKeys: (req) => backups.deleteKeys(req),
  };
  // The transports turn a method that throws before its first await into a rejection (platform/ipc).
  ctx.apis.provide(keyServerApi, api);

  await ctx.startConsumer<DeviceChange>({
    topic: deviceChanges,
    name: 'keyserver.device_changes',
    db,
    handle: async (batch) => {
      await applyDeviceChanges(devices, batch);
      return [];
    },
  });
  return {};
}
