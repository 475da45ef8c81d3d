/** Shared fixtures for the event tests: vector files, the spec's signing key, room versions by id. */
import { readFileSync } from 'node:fs';
import { signingKeyFromSeed, type SigningKey } from '../../../src/core/ed25519.js';
import { roomVersion, type RoomVersion } from '../../../src/core/room-versions.js';
import type { PDU } from '../../../src/core/events/pdu.js';

const vectorsDir = new URL('../../vectors/', import.meta.url);

export function loadVectors<T = any>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, vectorsDir), 'utf8')) as T;
}

/** The key of the spec's appendix test vectors ("Signing Key"), server "domain", key id ed25519:1. */
export const SPEC_SEED_HEX = '6090c103d5e7af6b15a970fd563ed75549e6159719ae5c3c31dee4316fb75c0d';
export const specKey: SigningKey = signingKeyFromSeed('ed25519:1', Buffer.from(SPEC_SEED_HEX, 'hex'));

export function rv(id: string): RoomVersion {
  const version = roomVersion(id);
  if (!version) throw new Error(`unknown room version ${id}`);
  return version;
}

export const ALL_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];

/** Vectors hold partial events (no hashes, no content...); the functions under test accept them. */
export function asPdu(value: unknown): PDU {
  return structuredClone(value) as PDU;
}

/** A deterministic second key, for "signed by someone else" cases. */
export const otherKey: SigningKey = signingKeyFromSeed('ed25519:other', Buffer.alloc(32, 7));

/** The last char of an unpadded base64 string of 32 bytes carries 2 spare bits; flip a middle char instead. */
export function tamperBase64(text: string): string {
  const i = Math.floor(text.length / 2);
  return text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
}
