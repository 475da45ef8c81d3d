/**
 * Format checks of a received PDU for its room version: step 1 of the
 * server-server "checks performed on receipt of a PDU" (an event that fails
 * is dropped). Sources: the pdu_v1/v3/v4/v6/v11/v12 schemas, client-server
 * "Size limits", appendices "Identifier Grammar", rooms/fragments/*-canonical-json.md.
 */
import { CanonicalJsonError } from '../canonical-json.js';
import { parseEventId, parseRoomId, parseUserId } from '../identifiers.js';
import type { RoomVersion } from '../room-versions.js';
import { eventJsonBytes } from './event-json.js';

/** The whole event, as canonical JSON in federation format with its signatures. */
export const MAX_PDU_BYTES = 65536;
/** `type` and `state_key`; ids have the same cap (identifiers.ts MAX_ID_BYTES). */
export const MAX_KEY_BYTES = 255;
export const MAX_PREV_EVENTS = 20;
export const MAX_AUTH_EVENTS = 10;
/** depth and origin_server_ts bounds: v6+ are canonical JSON integers; older schemas say int64. */
export const MAX_INTEGER_STRICT = Number.MAX_SAFE_INTEGER;
// 2^63 − 1 rounds to 2^63 as a double; the off-by-one cannot be expressed.
export const MAX_INTEGER_LEGACY = 2 ** 63 - 1;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function integerProblem(name: string, value: unknown, version: RoomVersion): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return `${name} is not an integer`;
  const max = version.strictCanonicalJson ? MAX_INTEGER_STRICT : MAX_INTEGER_LEGACY;
  if (value < 0 || value > max) return `${name} ${value} is outside 0..${version.strictCanonicalJson ? '2^53−1' : '2^63−1'}`;
  return undefined;
}

function referencesProblem(name: string, value: unknown, max: number, version: RoomVersion): string | undefined {
  if (!Array.isArray(value)) return `${name} is not an array`;
  if (value.length > max) return `${name} has ${value.length} entries, more than ${max}`;
  for (const ref of value) {
    let id: unknown = ref;
    if (version.eventIdFormat === 'v1') {
      // v1/v2: [event_id, {sha256: reference hash}]
      if (!Array.isArray(ref) || ref.length !== 2) return `${name} entries are [event_id, hashes] pairs in room version ${version.id}`;
      const hashes: unknown = ref[1];
      if (!isObject(hashes) || typeof hashes.sha256 !== 'string') return `${name} entries carry {"sha256": hash} in room version ${version.id}`;
      id = ref[0];
    }
    if (typeof id !== 'string') return `${name} entries are event ids`;
    const parsed = parseEventId(id, version.eventIdFormat);
    if (!parsed.ok) return `${name} holds an invalid event id: ${parsed.reason}`;
  }
  return undefined;
}

function signaturesProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'signatures is not an object';
  for (const byServer of Object.values(value)) {
    if (!isObject(byServer)) return 'signatures holds a server entry that is not an object';
    for (const sig of Object.values(byServer)) if (typeof sig !== 'string') return 'signatures holds a signature that is not a string';
  }
  return undefined;
}

function hashesProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'hashes is not an object';
  if (typeof value.sha256 !== 'string') return 'hashes.sha256 is missing or not a string';
  for (const hash of Object.values(value)) if (typeof hash !== 'string') return 'hashes holds a value that is not a string';
  return undefined;
}

function fieldsProblem(pdu: Json, version: RoomVersion): string | undefined {
  if (typeof pdu.type !== 'string') return 'type is missing or not a string';
  if (bytes(pdu.type) > MAX_KEY_BYTES) return `type is longer than ${MAX_KEY_BYTES} bytes`;

  if (typeof pdu.sender !== 'string') return 'sender is missing or not a string';
  const sender = parseUserId(pdu.sender, 'historical');
  if (!sender.ok) return `sender: ${sender.reason}`;

  // v12 create events define the room id by their hash, so cannot contain it.
  const roomIdOptional = version.roomIdIsCreateEventHash && pdu.type === 'm.room.create';
  if (pdu.room_id === undefined) {
    if (!roomIdOptional) return 'room_id is missing';
  } else {
    if (typeof pdu.room_id !== 'string') return 'room_id is not a string';
    const room = parseRoomId(pdu.room_id, version.roomIdIsCreateEventHash ? 'hash' : 'domain');
    if (!room.ok) return `room_id: ${room.reason}`;
  }

  if (pdu.state_key !== undefined) {
    if (typeof pdu.state_key !== 'string') return 'state_key is not a string';
    if (bytes(pdu.state_key) > MAX_KEY_BYTES) return `state_key is longer than ${MAX_KEY_BYTES} bytes`;
  }

  if (version.eventIdFormat === 'v1') {
    if (typeof pdu.event_id !== 'string') return `event_id is missing or not a string (room version ${version.id} events carry it)`;
    const id = parseEventId(pdu.event_id, 'v1');
    if (!id.ok) return `event_id: ${id.reason}`;
  }

  if (!isObject(pdu.content)) return 'content is missing or not an object';

  const depth = integerProblem('depth', pdu.depth, version);
  if (depth) return depth;
  const ts = integerProblem('origin_server_ts', pdu.origin_server_ts, version);
  if (ts) return ts;

  const prev = referencesProblem('prev_events', pdu.prev_events, MAX_PREV_EVENTS, version);
  if (prev) return prev;
  const auth = referencesProblem('auth_events', pdu.auth_events, MAX_AUTH_EVENTS, version);
  if (auth) return auth;

  // From v11 `redacts` moved into content; a top-level one is then just an extra key.
  if (!version.redactsInContent && pdu.redacts !== undefined) {
    if (typeof pdu.redacts !== 'string') return 'redacts is not a string';
    const target = parseEventId(pdu.redacts, version.eventIdFormat);
    if (!target.ok) return `redacts: ${target.reason}`;
  }

  const hashes = hashesProblem(pdu.hashes);
  if (hashes) return hashes;
  const signatures = signaturesProblem(pdu.signatures);
  if (signatures) return signatures;
  if (pdu.unsigned !== undefined && !isObject(pdu.unsigned)) return 'unsigned is not an object';
  return undefined;
}

/**
 * validateEvent for an event this server has just hashed and signed: every
 * field but `hashes` and `signatures` (strings it made) went through the
 * room version's canonical JSON then, so only the size is left to measure,
 * and JSON.stringify writes the same number of bytes as canonical JSON for
 * any value canonical JSON accepts (the same escapes; only key order
 * differs), several times faster than encoding it a third time.
 */
export function validateSignedEvent(pdu: object, version: RoomVersion): string | undefined {
  try {
    const size = Buffer.byteLength(JSON.stringify(pdu));
    if (size > MAX_PDU_BYTES) return `the event is ${size} bytes, more than ${MAX_PDU_BYTES}`;
    return fieldsProblem(pdu as Json, version);
  } catch (err) {
    return `the event could not be checked: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * Why `pdu` is not a well-formed event of the room version, or undefined when
 * it is. Signatures, hashes and auth rules are checked elsewhere. Never throws.
 */
export function validateEvent(pdu: unknown, version: RoomVersion): string | undefined {
  try {
    if (!isObject(pdu)) return 'the event is not a JSON object';
    // From v6 the encoder refuses floats and out-of-range integers, which is
    // the strict canonical JSON check; v1–v5 encode them.
    let encoded: Buffer;
    try {
      encoded = eventJsonBytes(pdu, version);
    } catch (err) {
      if (err instanceof CanonicalJsonError) return `the event is not valid canonical JSON: ${err.message}`;
      throw err;
    }
    if (encoded.length > MAX_PDU_BYTES) return `the event is ${encoded.length} bytes, more than ${MAX_PDU_BYTES}`;
    return fieldsProblem(pdu, version);
  } catch (err) {
    // Defensive: input from the network must never crash the caller.
    return `the event could not be checked: ${err instanceof Error ? err.message : String(err)}`;
  }
}
