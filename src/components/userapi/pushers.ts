/**
 * Pushers (POST /pushers/set, GET /pushers), stored here; the SyncAPI sends
 * the notifications to their push gateways and learns of changes from the
 * `user_changes` log. A pusher belongs to the device that set it and goes
 * when the device goes.
 */
import { MatrixError } from '../../core/errors.js';
import type { WriteOp } from '../../platform/storage/database.js';
import type { Pusher, PusherChange } from './api.js';
import type { UserServices } from './services.js';
import { del, keys, put, type StoredPusher } from './storage.js';
import { userChanges } from './topics.js';

const MAX_PUSHKEY_BYTES = 512;
const MAX_APP_ID_LENGTH = 64;
const REQUIRED = ['app_display_name', 'device_display_name', 'lang', 'data'] as const;

function view(p: StoredPusher): Pusher {
  const { device_id: _device, ...pusher } = p;
  return pusher;
}

export class Pushers {
  constructor(private readonly svc: UserServices) {}

  async list(userId: string): Promise<Pusher[]> {
    return (await this.svc.storage.pushers(userId)).map(view);
  }

  set(userId: string, deviceId: string, change: PusherChange, append: boolean): Promise<void> {
    if (Buffer.byteLength(change.pushkey, 'utf8') > MAX_PUSHKEY_BYTES) throw new MatrixError(400, 'M_INVALID_PARAM', `pushkey is at most ${MAX_PUSHKEY_BYTES} bytes`);
    if (change.app_id.length > MAX_APP_ID_LENGTH) throw new MatrixError(400, 'M_INVALID_PARAM', `app_id is at most ${MAX_APP_ID_LENGTH} characters`);
    if (change.kind !== null) checkPusher(change);
    return this.svc.locks.run('#pushers', async () => {
      const ops: WriteOp[] = [];
      // Whose pushers change: the SyncAPI reads theirs again.
      const changed = new Set([userId]);
      if (change.kind === null) {
        ops.push(del(keys.pusher(userId, change.app_id, change.pushkey)));
      } else {
        const stored: StoredPusher = {
          pushkey: change.pushkey,
          kind: change.kind,
          app_id: change.app_id,
          app_display_name: change.app_display_name,
          device_display_name: change.device_display_name,
          ...(change.profile_tag !== undefined ? { profile_tag: change.profile_tag } : {}),
          lang: change.lang,
          data: change.data,
          pushkey_ts: Math.floor(this.svc.now() / 1000),
          device_id: deviceId,
        };
        ops.push(put(keys.pusher(userId, change.app_id, change.pushkey), stored));
        // Without append, the same pushkey of the same app can only notify one user (spec).
        if (!append) {
          for (const other of await this.svc.storage.pushersByKey(change.app_id, change.pushkey)) {
            if (other.user_id === userId) continue;
            ops.push(del(keys.pusher(other.user_id, change.app_id, change.pushkey)));
            changed.add(other.user_id);
          }
        }
      }
      const records = [...changed].map((user_id) => ({ topic: userChanges, record: { kind: 'pushers' as const, user_id } }));
      await this.svc.producer.write(ops, records, { durable: true });
    });
  }

  /** Deletes every pusher of a user (deactivation), adding to a batch. */
  async deleteAll(userId: string, ops: WriteOp[]): Promise<void> {
    for (const p of await this.svc.storage.pushers(userId)) ops.push(del(keys.pusher(userId, p.app_id, p.pushkey)));
  }
}

function checkPusher(p: Pusher): void {
  const missing = REQUIRED.filter((k) => p[k] === undefined);
  if (missing.length > 0) throw new MatrixError(400, 'M_MISSING_PARAM', `Missing parameters: ${missing.join(', ')}`);
  if (p.kind === 'email') throw new MatrixError(400, 'M_INVALID_PARAM', 'This server does not send email notifications');
  if (p.kind !== 'http') throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown pusher kind ${p.kind}`);
  const url = p.data.url;
  if (typeof url !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'data.url is required for an http pusher');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'data.url is not a URL');
  }
  // Spec: "MUST be an HTTPS URL with a path of /_matrix/push/v1/notify".
  if (parsed.protocol !== 'https:' || parsed.pathname !== '/_matrix/push/v1/notify') {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'data.url must be an https URL with the path /_matrix/push/v1/notify');
  }
}
