/**
 * Cross-signing and server-side key backup with matrix-js-sdk and its Rust
 * crypto against the built server: bootstrapped by the SDK (the first
 * cross-signing upload without user-interactive auth, secret storage in
 * account data, a new backup version), room keys backed up in the
 * background, and a new device with nothing but the recovery key restores
 * them and decrypts the old messages.
 */
import t from 'tap';
import { ClientEvent, MatrixEventEvent, type MatrixClient } from 'matrix-js-sdk';
import { cryptoDevice, decryptedBody, e2eeServer, ENCRYPTION, eventIn, joined, raw, until } from '../helpers/crypto-sdk.js';

const PASSWORDS: Record<string, string> = { erin: 'erin password 5', frank: 'frank password 66' };

t.test('cross-signing and key backup: a new device restores the keys and decrypts old messages', async (t) => {
  const clients: MatrixClient[] = [];
  const { baseUrl } = await e2eeServer(t, 'monolith', PASSWORDS, clients);
  let recoveryKey: Uint8Array | undefined;
  const device = async (user: string) => {
    const c = await cryptoDevice(baseUrl, user, PASSWORDS[user]!, { secretStorageKey: () => recoveryKey });
    clients.push(c);
    return c;
  };
  const erin = await device('erin');
  const frank = await device('frank');
  const erinId = erin.getUserId()!;
  const crypto = erin.getCrypto()!;

  // The first upload of cross-signing keys needs no user-interactive auth (MSC3967).
  await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: async (makeRequest) => void (await makeRequest(null)) });
  const q = await raw(erin, 'POST', '/keys/query', { device_keys: { [erinId]: [] } });
  t.ok(q.body.master_keys?.[erinId], 'the master key is on the server');
  t.ok(q.body.self_signing_keys?.[erinId], 'the self-signing key too');
  t.ok(q.body.user_signing_keys?.[erinId], 'and the user-signing key, shown to erin');
  const sskId = Object.keys(q.body.self_signing_keys[erinId].keys)[0]!;
  t.ok(q.body.device_keys[erinId][erin.getDeviceId()!].signatures[erinId][sskId], "erin's device is signed by her self-signing key");
  t.ok(await crypto.isCrossSigningReady(), 'the SDK says cross-signing is ready');

  const key = await crypto.createRecoveryKeyFromPassphrase();
  recoveryKey = key.privateKey;
  await crypto.bootstrapSecretStorage({ createSecretStorageKey: async () => key, setupNewSecretStorage: true, setupNewKeyBackup: true });
  const backup = await raw(erin, 'GET', '/room_keys/version');
  t.equal(backup.status, 200, 'a backup version exists');
  t.equal(backup.body.algorithm, 'm.megolm_backup.v1.curve25519-aes-sha2');

  const { room_id: roomId } = await erin.createRoom({ name: 'backed up', invite: [frank.getUserId()!], initial_state: [ENCRYPTION] });
  await until(frank, [ClientEvent.Room], () => (frank.getRoom(roomId) ? true : undefined));
  await frank.joinRoom(roomId);
  await joined(erin, roomId, frank.getUserId()!);
  const { event_id: e1 } = await erin.sendTextMessage(roomId, 'erin, before the backup');
  const { event_id: e2 } = await frank.sendTextMessage(roomId, 'frank, before the backup');
  t.equal(await decryptedBody(erin, roomId, e2), 'frank, before the backup');
  t.equal(await decryptedBody(frank, roomId, e1), 'erin, before the backup');

  // The SDK backs keys up in the background: both sessions (erin's own and frank's) reach the server.
  const counted = await until(erin, [ClientEvent.Sync], async () => {
    const v = await raw(erin, 'GET', '/room_keys/version');
    return v.body.count >= 2 ? v.body : undefined;
  });
  t.ok(counted.count >= 2, `the backup holds ${counted.count} keys`);
  const stored = await raw(erin, 'GET', `/room_keys/keys?version=${counted.version}`);
  t.ok(stored.body.rooms[roomId], 'keys for the room are in the backup');

  // The old device goes; a new one has nothing but the recovery key.
  erin.stopClient();
  const erin2 = await device('erin');
  const old = await eventIn(erin2, roomId, e2);
  await until(old, [MatrixEventEvent.Decrypted], () => (old.isDecryptionFailure() ? true : undefined));
  t.ok(old.isDecryptionFailure(), 'the new device cannot read the old messages yet');

  const crypto2 = erin2.getCrypto()!;
  await crypto2.loadSessionBackupPrivateKeyFromSecretStorage();
  await crypto2.checkKeyBackupAndEnable();
  const restored = await crypto2.restoreKeyBackup();
  if (!t.ok(restored.imported >= 2, `restored ${restored.imported} of ${restored.total} keys`)) return;
  t.equal(await decryptedBody(erin2, roomId, e1), 'erin, before the backup', "the new device decrypts erin's old message");
  t.equal(await decryptedBody(erin2, roomId, e2), 'frank, before the backup', "and frank's");
});
