/**
 * Device keys, one-time keys and fallback keys of local devices: upload
 * (all checked before anything is stored), counts for /sync, claims, and
 * what goes when a device goes.
 */
import { MatrixError } from '../../core/errors.js';
import type { Append, LogProducer } from '../../platform/log/producer.js';
import type { Database, WriteOp } from '../../platform/storage/database.js';
import { decodeKey } from '../../platform/storage/keys.js';
import type { CrossSigningKey, DeviceKeys, KeyCounts, OneTimeKey, OneTimeKeys, UploadKeysRequest } from './api.js';
import { del, keys, put, type CrossSigningUsage, type FallbackKey } from './storage.js';
import { keyChanges, type KeyChange } from './topics.js';
import type { KeyedQueue } from '../../platform/storage/keyed-queue.js';
import { checkDeviceKeys, checkOneTimeKey, crossSigningPublicKey, publicKeyBytes, sameJson, splitKeyName } from './validate.js';

const invalid = (msg: string) => new MatrixError(400, 'M_INVALID_PARAM', msg);

/** A device's display name, from the UserAPI (for records); undefined when it has none. */
export type DisplayNameOf = (userId: string, deviceId: string) => Promise<string | undefined>;

/** Devices whose key counts are kept in memory (every /sync asks for them). */
const COUNTS_CACHED = 4096;

export class DeviceKeyStore {
  /**
   * Key counts per device, answered from memory: every /sync of every device
   * asks, and counting takes two range reads. This store is the only writer
   * of the keys it counts; each of its writes forgets the device's entry.
   */
  private readonly countsCache = new Map<string, KeyCounts>();
  /** Bumped when a write of counted keys starts and ends, so a count read across it is not kept. */
  private countsGeneration = 0;
  /** Devices with such a write under way: counted afresh, not from memory, until it has landed. */
  private readonly countsChanging = new Map<string, number>();

  constructor(
    private readonly db: Database,
    private readonly producer: LogProducer,
    private readonly locks: KeyedQueue,
    private readonly displayName: DisplayNameOf,
  ) {}

  deviceKeys(userId: string, deviceId: string): Promise<DeviceKeys | undefined> {
    return this.db.get<DeviceKeys>(keys.deviceKeys(userId, deviceId));
  }

  /** The device's ed25519 public key, from its stored device keys. */
  async ed25519Of(userId: string, deviceId: string): Promise<Uint8Array | undefined> {
    const dk = await this.deviceKeys(userId, deviceId);
    return dk ? publicKeyBytes(dk.keys[`ed25519:${deviceId}`]) : undefined;
  }

  async upload(req: UploadKeysRequest): Promise<{ one_time_key_counts: Record<string, number> }> {
    const { user_id: userId, device_id: deviceId } = req;
    return this.locks.run(userId, async () => {
      const ops: WriteOp[] = [];
      const records: Append<KeyChange>[] = [];
      const stored = await this.deviceKeys(userId, deviceId);
      let ed25519 = stored ? publicKeyBytes(stored.keys[`ed25519:${deviceId}`]) : undefined;

      // New identity keys for a device that has others: a client that lost its store comes back under the
      // same device id (Synapse takes them too). What belonged to the old identity goes in the same batch.
      let replacing = false;
      if (req.device_keys !== undefined) {
        ed25519 = checkDeviceKeys(req.device_keys, userId, deviceId);
        const dk = req.device_keys;
        if (await this.isCrossSigningKeyId(userId, deviceId)) throw new MatrixError(403, 'M_FORBIDDEN', `${deviceId} is the public key of one of the user's cross-signing keys`);
        if (stored && !sameJson(stored.keys, dk.keys)) {
          replacing = true;
          ops.push(...(await this.keyMaterialOps(userId, deviceId)));
        }
        const { unsigned: _unsigned, ...kept } = dk;
        if (!stored || !sameJson(stored, kept)) {
          ops.push(put(keys.deviceKeys(userId, deviceId), kept));
          const name = await this.displayName(userId, deviceId);
          records.push({ topic: keyChanges, record: { kind: 'device', user_id: userId, device_id: deviceId, deleted: false, keys: kept, ...(name !== undefined ? { display_name: name } : {}) } });
        }
      }

      if (req.one_time_keys !== undefined) ops.push(...(await this.oneTimeKeyOps(userId, deviceId, req.one_time_keys, ed25519, replacing)));
      if (req.fallback_keys !== undefined) ops.push(...(await this.fallbackKeyOps(userId, deviceId, req.fallback_keys, ed25519, replacing)));

      if (ops.length > 0) await this.changingCounts(userId, [deviceId], () => this.producer.write(ops, records, { durable: true }));
      return { one_time_key_counts: (await this.counts(userId, deviceId)).one_time_key_counts };
    });
  }

  private async isCrossSigningKeyId(userId: string, deviceId: string): Promise<boolean> {
    for (const usage of ['master', 'self_signing', 'user_signing'] as CrossSigningUsage[]) {
      const k = await this.db.get<CrossSigningKey>(keys.crossSigning(userId, usage));
      if (k && crossSigningPublicKey(k) === deviceId) return true;
    }
    return false;
  }

  /**
   * New one-time keys after the last stored one of their algorithm; an id
   * already stored must carry the same key, unless the stored ones are being
   * deleted with the device's old identity (`replacing`).
   */
  private async oneTimeKeyOps(userId: string, deviceId: string, otks: OneTimeKeys, ed25519: Uint8Array | undefined, replacing: boolean): Promise<WriteOp[]> {
    const ops: WriteOp[] = [];
    const nextSeq = new Map<string, number>();
    for (const [name, raw] of Object.entries(otks)) {
      const key = checkOneTimeKey(name, raw, userId, deviceId, ed25519, 'one_time_keys');
      const { algorithm, id } = splitKeyName(name, 'one_time_keys');
      const seq = replacing ? undefined : await this.db.get<number>(keys.otkId(userId, deviceId, algorithm, id));
      if (seq !== undefined) {
        const existing = await this.db.get<OneTimeKey>(keys.otk(userId, deviceId, algorithm, seq, id));
        if (!sameJson(existing, key)) throw invalid(`one_time_keys: ${name} is already stored with another key`);
        continue;
      }
      let next = nextSeq.get(algorithm);
      if (next === undefined) {
        const [last] = await this.db.keys({ ...keys.otksOfAlgorithm(userId, deviceId, algorithm), reverse: true, limit: 1 });
        next = last === undefined ? 0 : Number(decodeKey(last)[4]) + 1;
      }
      // Keys of one upload share a sequence number: the spec leaves their order open.
      nextSeq.set(algorithm, next);
      ops.push(put(keys.otk(userId, deviceId, algorithm, next, id), key), put(keys.otkId(userId, deviceId, algorithm, id), next));
    }
    return ops;
  }

  /** One fallback key per algorithm replaces the stored one; the same key again keeps whether it was used. */
  private async fallbackKeyOps(userId: string, deviceId: string, fbks: OneTimeKeys, ed25519: Uint8Array | undefined, replacing: boolean): Promise<WriteOp[]> {
    const ops: WriteOp[] = [];
    const seen = new Set<string>();
    for (const [name, raw] of Object.entries(fbks)) {
      const key = checkOneTimeKey(name, raw, userId, deviceId, ed25519, 'fallback_keys');
      const { algorithm, id } = splitKeyName(name, 'fallback_keys');
      if (seen.has(algorithm)) throw invalid(`fallback_keys: only one key per algorithm (${algorithm})`);
      seen.add(algorithm);
      const existing = replacing ? undefined : await this.db.get<FallbackKey>(keys.fallback(userId, deviceId, algorithm));
      if (existing && existing.key_id === id && sameJson(existing.key, key)) continue;
      ops.push(put(keys.fallback(userId, deviceId, algorithm), { key_id: id, key, used: false } satisfies FallbackKey));
    }
    return ops;
  }

  async counts(userId: string, deviceId: string): Promise<KeyCounts> {
    const id = countsId(userId, deviceId);
    if (this.countsChanging.has(id)) return this.count(userId, deviceId);
    const cached = this.countsCache.get(id);
    if (cached) return cached;
    const generation = this.countsGeneration;
    const counted = await this.count(userId, deviceId);
    if (generation === this.countsGeneration) {
      if (this.countsCache.size >= COUNTS_CACHED) this.countsCache.delete(this.countsCache.keys().next().value!);
      // Shared with in-process callers: frozen, so that none can change what the next one reads.
      Object.freeze(counted.one_time_key_counts);
      Object.freeze(counted.unused_fallback_key_types);
      this.countsCache.set(id, Object.freeze(counted));
    }
    return counted;
  }

  private async changingCounts(userId: string, deviceIds: string[], write: () => Promise<unknown>): Promise<void> {
    const ids = deviceIds.map((d) => countsId(userId, d));
    const mark = (by: number) => {
      this.countsGeneration++;
      for (const id of ids) {
        this.countsCache.delete(id);
        const n = (this.countsChanging.get(id) ?? 0) + by;
        if (n > 0) this.countsChanging.set(id, n);
        else this.countsChanging.delete(id);
      }
    };
    mark(1);
    try {
      await write();
    } finally {
      mark(-1);
    }
  }

  private async count(userId: string, deviceId: string): Promise<KeyCounts> {
    const counts: Record<string, number> = {};
    for (const k of await this.db.keys(keys.otksOf(userId, deviceId))) {
      const algorithm = String(decodeKey(k)[3]);
      counts[algorithm] = (counts[algorithm] ?? 0) + 1;
    }
    const unused: string[] = [];
    for (const [k, fb] of await this.db.entries<FallbackKey>(keys.fallbacksOf(userId, deviceId))) {
      if (!fb.used) unused.push(String(decodeKey(k)[3]));
    }
    return { one_time_key_counts: counts, unused_fallback_key_types: unused };
  }

  /**
   * Claims for one local user's devices: the oldest one-time key of the
   * algorithm, deleted in the same durable write that precedes the answer,
   * else the fallback key (marked used). Devices without either are left out.
   */
  async claim(userId: string, wanted: Record<string, string>): Promise<Record<string, OneTimeKeys>> {
    return this.locks.run(userId, async () => {
      const out: Record<string, OneTimeKeys> = {};
      const ops: WriteOp[] = [];
      for (const [deviceId, algorithm] of Object.entries(wanted)) {
        const [first] = await this.db.entries<OneTimeKey>({ ...keys.otksOfAlgorithm(userId, deviceId, algorithm), limit: 1 });
        if (first) {
          const [k, key] = first;
          const id = String(decodeKey(k)[5]);
          ops.push(del(k), del(keys.otkId(userId, deviceId, algorithm, id)));
          out[deviceId] = { [`${algorithm}:${id}`]: key };
          continue;
        }
        const fb = await this.db.get<FallbackKey>(keys.fallback(userId, deviceId, algorithm));
        if (!fb) continue;
        if (!fb.used) ops.push(put(keys.fallback(userId, deviceId, algorithm), { ...fb, used: true } satisfies FallbackKey));
        out[deviceId] = { [`${algorithm}:${fb.key_id}`]: fb.key };
      }
      if (ops.length > 0) await this.changingCounts(userId, Object.keys(wanted), () => this.db.write(ops, { durable: true }));
      return out;
    });
  }

  /**
   * A device went away (UserAPI device_changes): its keys go with it, and
   * everyone tracking the user hears of it. A second delivery finds nothing
   * left to delete and only tells them again.
   */
  async dropDevice(userId: string, deviceId: string): Promise<void> {
    await this.locks.run(userId, async () => {
      const had = await this.deviceKeys(userId, deviceId);
      const ops: WriteOp[] = [];
      if (had) ops.push(del(keys.deviceKeys(userId, deviceId)));
      ops.push(...(await this.keyMaterialOps(userId, deviceId)));
      const records: Append<KeyChange>[] = [{ topic: keyChanges, record: { kind: 'device', user_id: userId, device_id: deviceId, deleted: true } }];
      await this.changingCounts(userId, [deviceId], () => this.producer.write(ops, records));
    });
  }

  /**
   * Deletes what hangs on a device's identity keys: its one-time and
   * fallback keys, signatures on its keys, and its signature on the master
   * key, which speaks for keys that are gone.
   */
  private async keyMaterialOps(userId: string, deviceId: string): Promise<WriteOp[]> {
    const ops: WriteOp[] = [];
    for (const range of [keys.otksOf(userId, deviceId), keys.otkIdsOf(userId, deviceId), keys.fallbacksOf(userId, deviceId), keys.signaturesOn(userId, deviceId)]) {
      for (const k of await this.db.keys(range)) ops.push(del(k));
    }
    const master = await this.db.get<CrossSigningKey>(keys.crossSigning(userId, 'master'));
    if (master) ops.push(del(keys.signature(userId, crossSigningPublicKey(master), userId, `ed25519:${deviceId}`)));
    return ops;
  }

  /**
   * A device was created or renamed: its display name is part of what
   * /keys/query shows, and those tracking the user ask again (a device
   * without keys yet too, as Synapse tells them; SyTest's device-list tests
   * wait for a new login, a rename and a delete without keys).
   */
  async deviceChanged(userId: string, deviceId: string, displayName: string | undefined): Promise<void> {
    await this.locks.run(userId, async () => {
      const dk = await this.deviceKeys(userId, deviceId);
      const record: KeyChange = { kind: 'device', user_id: userId, device_id: deviceId, deleted: false, ...(dk ? { keys: dk } : {}), ...(displayName !== undefined ? { display_name: displayName } : {}) };
      await this.producer.write([], [{ topic: keyChanges, record }]);
    });
  }
}

const countsId = (userId: string, deviceId: string) => `${userId}\u0000${deviceId}`;
