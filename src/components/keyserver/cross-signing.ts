/**
 * Cross-signing keys (master, self-signing, user-signing) of local users,
 * and the signatures uploaded on keys afterwards. Uploaded signatures are
 * kept apart from the keys they sign, so that /keys/query can show each
 * requester only what the spec lets them see ("Key and signature security").
 */
import { MatrixError } from '../../core/errors.js';
import { verifyJsonSignature } from '../../core/signing.js';
import type { Append, LogProducer } from '../../platform/log/producer.js';
import type { Database, WriteOp } from '../../platform/storage/database.js';
import { decodeKey } from '../../platform/storage/keys.js';
import type { CrossSigningKey, CrossSigningKeys, Signatures, SignatureFailure, UploadCrossSigningRequest } from './api.js';
import type { DeviceKeyStore } from './device-keys.js';
import { del, keys, put, type CrossSigningUsage } from './storage.js';
import { keyChanges, type KeyChange } from './topics.js';
import type { KeyedQueue } from '../../platform/storage/keyed-queue.js';
import { checkCrossSigningKey, crossSigningPublicKey, publicKeyBytes, requireSignedByMaster, sameJson, sameSignedContent } from './validate.js';

const FIELDS: [CrossSigningUsage, keyof CrossSigningKeys][] = [
  ['master', 'master_key'],
  ['self_signing', 'self_signing_key'],
  ['user_signing', 'user_signing_key'],
];

/** The ids of a user's devices (any device, with keys or not: a cross-signing key must not share an id with one). */
export type DeviceIdsOf = (userId: string) => Promise<string[]>;

const failure = (errcode: string, error: string): SignatureFailure => ({ errcode, error });

export class CrossSigning {
  constructor(
    private readonly db: Database,
    private readonly producer: LogProducer,
    private readonly locks: KeyedQueue,
    private readonly devices: DeviceKeyStore,
    private readonly deviceIdsOf: DeviceIdsOf,
    private readonly isLocal: (userId: string) => boolean,
  ) {}

  key(userId: string, usage: CrossSigningUsage): Promise<CrossSigningKey | undefined> {
    return this.db.get<CrossSigningKey>(keys.crossSigning(userId, usage));
  }

  async publicKey(userId: string, usage: CrossSigningUsage): Promise<string | undefined> {
    const k = await this.key(userId, usage);
    return k ? crossSigningPublicKey(k) : undefined;
  }

  async upload(req: UploadCrossSigningRequest): Promise<{ auth_required: boolean }> {
    const userId = req.user_id;
    return this.locks.run(userId, async () => {
      const stored = { master: await this.key(userId, 'master'), self_signing: await this.key(userId, 'self_signing'), user_signing: await this.key(userId, 'user_signing') };
      const given = new Map<CrossSigningUsage, CrossSigningKey>();
      for (const [usage, field] of FIELDS) {
        const k = req[field];
        if (k === undefined) continue;
        checkCrossSigningKey(k, userId, usage);
        given.set(usage, k);
      }
      const master = given.get('master') ?? stored.master;
      for (const usage of ['self_signing', 'user_signing'] as const) {
        const k = given.get(usage);
        if (!k) continue;
        if (!master) throw new MatrixError(400, 'M_MISSING_PARAM', 'No master key to check the other cross-signing keys with: upload master_key too');
        requireSignedByMaster(k, userId, crossSigningPublicKey(master), usage === 'self_signing' ? 'self_signing_key' : 'user_signing_key');
      }
      const deviceIds = new Set(await this.deviceIdsOf(userId));
      for (const k of given.values()) {
        if (deviceIds.has(crossSigningPublicKey(k))) throw new MatrixError(403, 'M_FORBIDDEN', 'A cross-signing public key equals one of your device ids');
      }

      const changed = [...given].filter(([usage, k]) => !sameJson(stored[usage], k));
      // MSC3967: a first upload, or keys the server already has, need no further proof.
      if (changed.length === 0) return { auth_required: false };
      if (!req.authenticated && stored.master) return { auth_required: true };

      const ops: WriteOp[] = changed.map(([usage, k]) => put(keys.crossSigning(userId, usage), k));
      const after = { ...stored, ...Object.fromEntries(given) } as Record<CrossSigningUsage, CrossSigningKey | undefined>;
      if (given.has('master') && stored.master && !sameJson(stored.master, given.get('master'))) {
        // A new master key: the old subkeys are signed by the old one and mean nothing now.
        for (const usage of ['self_signing', 'user_signing'] as const) {
          if (!given.has(usage) && stored[usage]) {
            ops.push(del(keys.crossSigning(userId, usage)));
            after[usage] = undefined;
          }
        }
      }
      const seenByOthers = changed.some(([usage]) => usage !== 'user_signing');
      const record: KeyChange = {
        kind: 'cross_signing',
        user_id: userId,
        ...(after.master ? { master_key: after.master } : {}),
        ...(after.self_signing ? { self_signing_key: after.self_signing } : {}),
        ...(seenByOthers ? {} : { only_for: userId }),
      };
      await this.producer.write(ops, [{ topic: keyChanges, record }], { durable: true });
      return { auth_required: false };
    });
  }

  /**
   * `POST /keys/signatures/upload` by `signer`. Each object is checked on
   * its own and stores all of its new signatures or none.
   */
  async uploadSignatures(signer: string, body: Record<string, Record<string, Record<string, unknown>>>): Promise<Record<string, Record<string, SignatureFailure>>> {
    const failures: Record<string, Record<string, SignatureFailure>> = {};
    const fail = (userId: string, keyId: string, f: SignatureFailure) => ((failures[userId] ??= {})[keyId] = f);
    const signerUsk = await this.publicKey(signer, 'user_signing');
    for (const [target, objects] of Object.entries(body)) {
      if (!this.isLocal(target)) {
        for (const keyId of Object.keys(objects)) fail(target, keyId, failure('M_UNRECOGNIZED', 'Signing keys of users on other servers is not supported yet'));
        continue;
      }
      await this.locks.run(target, async () => {
        const ops: WriteOp[] = [];
        const records: Append<KeyChange>[] = [];
        for (const [keyId, obj] of Object.entries(objects)) {
          const result = await this.checkSigned(signer, signerUsk, target, keyId, obj);
          if ('errcode' in result) {
            fail(target, keyId, result);
            continue;
          }
          for (const [signerKey, sig] of result.fresh) ops.push(put(keys.signature(target, keyId, signer, signerKey), sig));
          if (result.fresh.length > 0) records.push({ topic: keyChanges, record: { kind: 'signatures', user_id: target, ...(target !== signer ? { only_for: signer } : {}) } });
        }
        if (ops.length > 0) await this.producer.write(ops, dedupe(records), { durable: true });
      });
    }
    return failures;
  }

  /** Which new signatures of `signer` an uploaded object carries, after checking them all. */
  private async checkSigned(
    signer: string,
    signerUsk: string | undefined,
    target: string,
    keyId: string,
    obj: Record<string, unknown>,
  ): Promise<{ fresh: [string, string][] } | SignatureFailure> {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return failure('M_INVALID_PARAM', 'The signed object must be an object');
    const sigs = (obj.signatures as Signatures | undefined)?.[signer];
    if (typeof sigs !== 'object' || sigs === null) return failure('M_INVALID_SIGNATURE', `No signature of ${signer}`);
    const master = await this.key(target, 'master');
    const isMaster = master !== undefined && crossSigningPublicKey(master) === keyId;
    const device = isMaster ? undefined : await this.devices.deviceKeys(target, keyId);
    if (!isMaster && !device) return failure('M_NOT_FOUND', `${target} has no key ${keyId}`);
    const stored = (isMaster ? master : device)!;
    if (!sameSignedContent(obj, stored)) return failure('M_INVALID_PARAM', `The object does not match the stored key ${keyId}`);
    const known = (await this.db.entries<string>(keys.signaturesOn(target, keyId))).map(([k, v]) => `${String(decodeKey(k)[3])}\0${String(decodeKey(k)[4])}\0${v}`);
    const inherent = (stored.signatures as Signatures | undefined)?.[signer] ?? {};

    const fresh: [string, string][] = [];
    for (const [signerKey, sig] of Object.entries(sigs)) {
      if (typeof sig !== 'string') return failure('M_INVALID_PARAM', `The signature ${signerKey} must be a string`);
      if (inherent[signerKey] === sig || known.includes(`${signer}\0${signerKey}\0${sig}`)) continue;
      const publicKey = await this.allowedSigner(signer, signerUsk, target, isMaster, signerKey);
      if (!publicKey) return failure('M_INVALID_SIGNATURE', `${signerKey} of ${signer} may not sign ${target}'s key ${keyId}`);
      // The object's content equals the stored key's, so its signature is one on the stored key.
      if (!verifyJsonSignature(obj, signer, signerKey, publicKey)) {
        return failure('M_INVALID_SIGNATURE', `The signature ${signerKey} does not verify`);
      }
      fresh.push([signerKey, sig]);
    }
    // Only signatures the key already carries (a device's signature on the master key made at its upload, sent
    // again by rust crypto): known, so accepted with nothing to store, as a stored one sent again is.
    return { fresh };
  }

  /**
   * The public key a signature may be made with, per the spec's diagram:
   * the user's self-signing key on their devices, their devices on their
   * master key, and the signer's user-signing key on another user's master key.
   */
  private async allowedSigner(signer: string, signerUsk: string | undefined, target: string, isMaster: boolean, signerKey: string): Promise<Uint8Array | undefined> {
    if (!signerKey.startsWith('ed25519:')) return undefined;
    const name = signerKey.slice('ed25519:'.length);
    if (signer !== target) return isMaster && name === signerUsk ? publicKeyBytes(signerUsk) : undefined;
    if (!isMaster) {
      const ssk = await this.publicKey(target, 'self_signing');
      return ssk !== undefined && name === ssk ? publicKeyBytes(ssk) : undefined;
    }
    return this.devices.ed25519Of(target, name);
  }

  /**
   * Uploaded signatures on `target`'s key `keyId` that `requester` may see,
   * merged into `signatures`: the target's own (from its current
   * self-signing key on devices; from its devices on the master key) and,
   * on a master key, the requester's current user-signing key's.
   */
  async visibleSignatures(target: string, keyId: string, isMaster: boolean, requester: string, signatures: Signatures | undefined): Promise<Signatures> {
    const out: Signatures = {};
    for (const [u, byKey] of Object.entries(signatures ?? {})) out[u] = { ...byKey };
    const rows = await this.db.entries<string>(keys.signaturesOn(target, keyId));
    if (rows.length === 0) return out;
    const ssk = isMaster ? undefined : await this.publicKey(target, 'self_signing');
    const requesterUsk = isMaster && requester !== target ? await this.publicKey(requester, 'user_signing') : undefined;
    for (const [k, sig] of rows) {
      const [, , , signer, signerKey] = decodeKey(k) as [string, string, string, string, string];
      const visible =
        signer === target ? (isMaster ? true : signerKey === `ed25519:${ssk}`) : signer === requester && requesterUsk !== undefined && signerKey === `ed25519:${requesterUsk}`;
      if (visible) (out[signer] ??= {})[signerKey] = sig;
    }
    return out;
  }
}

function dedupe(records: Append<KeyChange>[]): Append<KeyChange>[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = JSON.stringify(r.record);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
