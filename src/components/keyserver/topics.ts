/**
 * The KeyServer's output log: whose end-to-end keys changed. Each record is
 * written in the same batch as the change it describes.
 *
 * The SyncAPI turns records into `device_lists.changed` for every user who
 * shares a room with `user_id` (the user's own devices included), unless
 * `only_for` limits who may learn of it. The FederationSender (later) turns
 * them into `m.device_list_update` and `m.signing_key_update` EDUs: the
 * records carry the keys as other servers see them, so it need not call back.
 */
import { defineTopic } from '../../platform/log/topic.js';
import type { CrossSigningKey, DeviceKeys } from './api.js';

/**
 * A device's keys appeared or changed (upload, display name change of a
 * device with keys), or the device went away with its keys (`deleted`).
 * Only devices that have, or had, device keys produce records: a device that
 * never uploaded keys is not part of anyone's device list.
 */
export interface DeviceKeyChange {
  kind: 'device';
  user_id: string;
  device_id: string;
  deleted: boolean;
  /** The device keys as /keys/query shows them (absent when deleted). */
  keys?: DeviceKeys;
  display_name?: string;
}

/**
 * The user's cross-signing keys changed (new master, self-signing or
 * user-signing key). Carries the public keys others may see. A new
 * user-signing key alone is nobody else's business (others never see it):
 * then `only_for` names the user, and only their own devices are told.
 */
export interface CrossSigningChange {
  kind: 'cross_signing';
  user_id: string;
  master_key?: CrossSigningKey;
  self_signing_key?: CrossSigningKey;
  only_for?: string;
}

/**
 * New signatures on `user_id`'s keys: on their own devices or master key
 * (everyone re-queries the user), or made by another user's user-signing key
 * on `user_id`'s master key, which only that signer may see: then `only_for`
 * names the signer, and only the signer's devices are told.
 */
export interface SignatureChange {
  kind: 'signatures';
  user_id: string;
  only_for?: string;
}

export type KeyChange = DeviceKeyChange | CrossSigningChange | SignatureChange;

export const keyChanges = defineTopic<KeyChange>('keyserver', 'key_changes');
