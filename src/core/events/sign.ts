/**
 * Signing and verifying events (server-server-api "Signing Events") and
 * building new events in the room version's shape.
 *
 * A signature covers the redacted event, so it stays checkable after a
 * redaction; the content hash inside it protects the rest. Events are encoded
 * with the room version's canonical JSON rules (event-json.ts) rather than
 * signing.ts's strict ones, because v1–v5 events may carry floats.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CanonicalJsonError, copyJson, type JsonObject } from '../canonical-json.js';
import { decodeBase64, encodeBase64 } from '../base64.js';
import { sign, verifyAsync, type SigningKey } from '../ed25519.js';
import type { RoomVersion } from '../room-versions.js';
import { signatureOf } from '../signing.js';
import { eventId, idFromReferenceHash } from './event-id.js';
import { eventJsonBytes } from './event-json.js';
import { withContentHash } from './hashes.js';
import type { Event, EventReferenceV1, PDU } from './pdu.js';
import { redact } from './redaction.js';
import { validateSignedEvent } from './validate.js';

/** The bytes an event signature covers: the redacted event without signatures and unsigned. */
function signedBytes(pdu: PDU, version: RoomVersion): Buffer {
  const { signatures: _s, unsigned: _u, ...rest } = redact(pdu, version) as Record<string, unknown>;
  return eventJsonBytes(rest, version);
}

/**
 * Adds serverName's signature to the event, keeping its hashes and any other
 * signatures (as when a resident server co-signs a join). The event must
 * already carry its content hash.
 */
export function signEvent(pdu: PDU, serverName: string, key: SigningKey, version: RoomVersion): PDU {
  return withSignature(pdu, serverName, key, signedBytes(pdu, version));
}

function withSignature(pdu: PDU, serverName: string, key: SigningKey, bytes: Buffer): PDU {
  const signature = encodeBase64(sign(key, bytes));
  const existing = pdu.signatures ?? {};
  return { ...pdu, signatures: { ...existing, [serverName]: { ...(existing[serverName] ?? {}), [key.keyId]: signature } } };
}

/** Sets the content hash, then signs: what the origin server does to an event it creates. */
export function hashAndSignEvent(pdu: PDU, serverName: string, key: SigningKey, version: RoomVersion): PDU {
  return signEvent(withContentHash(pdu, version), serverName, key, version);
}

/**
 * Checks serverName's signature with keyId over the event. Resolves to why it
 * fails, or undefined when it is valid. Works on a full or a redacted copy.
 * Which servers must sign, and whether the key was valid at the event's
 * origin_server_ts, is the caller's business. The Ed25519 check runs on
 * libuv's pool (verifyAsync), so checks started together share the cores.
 * Never rejects.
 */
export async function verifyEventSignature(
  pdu: PDU,
  serverName: string,
  keyId: string,
  publicKey: Uint8Array,
  version: RoomVersion,
): Promise<string | undefined> {
  const signature = signatureOf(pdu, serverName, keyId);
  if (signature === undefined) return `no signature from ${serverName} with key ${keyId}`;
  const signatureBytes = decodeBase64(signature);
  if (!signatureBytes) return `the signature from ${serverName} with key ${keyId} is not base64`;
  let message: Buffer;
  try {
    message = signedBytes(pdu, version);
  } catch (err) {
    return `the event cannot be encoded as canonical JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (!(await verifyAsync(publicKey, message, signatureBytes))) return `the signature from ${serverName} with key ${keyId} does not match the event`;
  return undefined;
}

/** What a server decides about a new event; buildEvent adds the version-specific shape, hashes and signature. */
export interface EventPrototype {
  type: string;
  state_key?: string;
  content: JsonObject;
  sender: string;
  /** Required except on a v12 create event, whose id defines the room id. */
  room_id?: string;
  /** v3+: event ids. v1/v2: [event_id, {sha256: reference hash}] pairs (see eventReference). */
  prev_events: string[] | EventReferenceV1[];
  auth_events: string[] | EventReferenceV1[];
  depth: number;
  origin_server_ts: number;
  /** For m.room.redaction: top-level before v11, moved into content from v11. */
  redacts?: string;
}

export interface BuildOptions {
  roomVersion: RoomVersion;
  /** The origin: the server of `sender`, which signs the event. */
  serverName: string;
  key: SigningKey;
  /** v1/v2 only: the opaque part of `$opaque:server`; random when omitted. */
  localId?: string;
}

export interface BuiltEvent extends Event {
  /** The room the event belongs to; for a v12 create event, the room id it defines. */
  readonly roomId: string;
}

/** Thrown when a prototype cannot become a valid event of the room version. */
export class EventBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventBuildError';
  }
}

function checkReferences(name: string, refs: string[] | EventReferenceV1[], version: RoomVersion): void {
  const pairs = version.eventIdFormat === 'v1';
  for (const ref of refs) {
    if (pairs !== Array.isArray(ref)) {
      throw new EventBuildError(
        pairs
          ? `${name}: room version ${version.id} needs [event_id, {sha256}] pairs`
          : `${name}: room version ${version.id} takes plain event ids`,
      );
    }
  }
}

/**
 * Builds, hashes and signs a new event. Throws EventBuildError when the
 * prototype does not fit the room version or the result fails validateEvent's
 * checks (size limits included).
 */
export function buildEvent(proto: EventPrototype, options: BuildOptions): BuiltEvent {
  const version = options.roomVersion;
  const isCreate = proto.type === 'm.room.create';
  checkReferences('prev_events', proto.prev_events, version);
  checkReferences('auth_events', proto.auth_events, version);

  const omitRoomId = version.roomIdIsCreateEventHash && isCreate;
  if (omitRoomId && proto.room_id !== undefined) throw new EventBuildError(`a room version ${version.id} create event has no room_id`);
  if (!omitRoomId && proto.room_id === undefined) throw new EventBuildError('room_id is required');

  // Copies, so the caller's later changes cannot reach the signed event.
  let content = copyJson(proto.content);
  const draft: Record<string, unknown> = {
    type: proto.type,
    sender: proto.sender,
    depth: proto.depth,
    origin_server_ts: proto.origin_server_ts,
    prev_events: copyJson(proto.prev_events),
    auth_events: copyJson(proto.auth_events),
    hashes: {},
    signatures: {},
  };
  if (proto.room_id !== undefined) draft.room_id = proto.room_id;
  if (proto.state_key !== undefined) draft.state_key = proto.state_key;
  if (proto.redacts !== undefined) {
    if (version.redactsInContent) content = { ...content, redacts: proto.redacts };
    else draft.redacts = proto.redacts;
  }
  draft.content = content;
  if (version.eventIdFormat === 'v1') {
    // Opaque and locally unique; 18 random bytes make collisions negligible.
    draft.event_id = `$${options.localId ?? randomBytes(18).toString('base64url')}:${options.serverName}`;
  }

  let pdu: PDU;
  let reference: Buffer;
  try {
    const hashed = withContentHash(draft as PDU, version);
    // The signature and the reference hash cover the same bytes: encoded once, used twice.
    const bytes = signedBytes(hashed, version);
    pdu = withSignature(hashed, options.serverName, options.key, bytes);
    reference = createHash('sha256').update(bytes).digest();
  } catch (err) {
    if (err instanceof CanonicalJsonError) throw new EventBuildError(`the event is not valid canonical JSON: ${err.message}`);
    throw err;
  }
  const problem = validateSignedEvent(pdu, version);
  if (problem) throw new EventBuildError(`the built event is invalid: ${problem}`);
  const id = version.eventIdFormat === 'v1' ? eventId(pdu, version) : idFromReferenceHash('$', reference, version);
  const roomId = omitRoomId ? idFromReferenceHash('!', reference, version) : proto.room_id!;
  return { eventId: id, roomVersion: version.id, pdu, roomId };
}
