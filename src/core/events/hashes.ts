/**
 * Event hashes (server-server-api "Calculating the content hash for an event"
 * and "Calculating the reference hash for an event").
 *
 * The content hash covers the whole event except `unsigned`, `signatures` and
 * `hashes`; it lets a receiver notice that it was sent a redacted copy. The
 * reference hash covers the redacted event (which keeps `hashes`, hence the
 * full content indirectly) without `signatures` and `unsigned`; it is the
 * event id from v3 on and the hash in v1/v2 event references.
 */
import { createHash } from 'node:crypto';
import { decodeBase64, encodeBase64 } from '../base64.js';
import type { RoomVersion } from '../room-versions.js';
import { eventJsonBytes } from './event-json.js';
import type { PDU } from './pdu.js';
import { redact } from './redaction.js';

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** SHA-256 of the event without unsigned, signatures and hashes. Throws CanonicalJsonError on unencodable values. */
export function contentHash(pdu: object, version: RoomVersion): Buffer {
  const { unsigned: _u, signatures: _s, hashes: _h, ...rest } = pdu as Record<string, unknown>;
  return sha256(eventJsonBytes(rest, version));
}

/** A copy of the event with `hashes.sha256` set to its content hash (other algorithms' entries are kept). */
export function withContentHash<T extends object>(pdu: T, version: RoomVersion): T & { hashes: PDU['hashes'] } {
  const existing = (pdu as Record<string, unknown>).hashes;
  const others = typeof existing === 'object' && existing !== null ? (existing as Record<string, string>) : {};
  return { ...pdu, hashes: { ...others, sha256: encodeBase64(contentHash(pdu, version)) } };
}

/**
 * True when the event's `hashes.sha256` decodes to its content hash. A false
 * result on an event with a valid signature means the sender gave us a
 * redacted copy: the spec says to use the redacted form then.
 */
export function checkContentHash(pdu: object, version: RoomVersion): boolean {
  const hashes = (pdu as Record<string, unknown>).hashes;
  if (typeof hashes !== 'object' || hashes === null) return false;
  const claimed = (hashes as Record<string, unknown>).sha256;
  if (typeof claimed !== 'string') return false;
  const expectedBytes = decodeBase64(claimed);
  if (!expectedBytes || expectedBytes.length !== 32) return false;
  let actual: Buffer;
  try {
    actual = contentHash(pdu, version);
  } catch {
    return false;
  }
  return actual.equals(expectedBytes);
}

/** SHA-256 of the redacted event without signatures and unsigned. Throws CanonicalJsonError on unencodable values. */
export function referenceHash(pdu: PDU, version: RoomVersion): Buffer {
  const { signatures: _s, unsigned: _u, ...rest } = redact(pdu, version) as Record<string, unknown>;
  return sha256(eventJsonBytes(rest, version));
}
