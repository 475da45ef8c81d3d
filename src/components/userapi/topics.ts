/**
 * The UserAPI's output log: what other components learn about users.
 * Records are written in the same batch as the change they describe.
 */
import { defineTopic } from '../../platform/log/topic.js';

/** Account data was set (global when room_id is absent). The SyncAPI sends it to the user's clients. */
export interface AccountDataChange {
  user_id: string;
  room_id?: string;
  type: string;
  content: Record<string, unknown>;
}

/** A device appeared, was renamed or went away (logout, deletion, deactivation). The KeyServer and device lists follow it. */
export interface DeviceChange {
  user_id: string;
  device_id: string;
  change: 'created' | 'updated' | 'deleted';
  display_name?: string;
}

/**
 * A profile changed (join events in the user's rooms follow it), an
 * account was deactivated (it leaves its rooms; `erased`: the SyncAPI
 * redacts its events for later joiners), or the user's pushers changed
 * (the SyncAPI, which sends to push gateways, reads them again).
 */
export type UserChange =
  | { kind: 'profile'; user_id: string; displayname?: string; avatar_url?: string }
  | { kind: 'deactivated'; user_id: string; erased?: true }
  | { kind: 'pushers'; user_id: string };

export const accountDataChanges = defineTopic<AccountDataChange>('userapi', 'account_data');
export const deviceChanges = defineTopic<DeviceChange>('userapi', 'device_changes');
export const userChanges = defineTopic<UserChange>('userapi', 'user_changes');
