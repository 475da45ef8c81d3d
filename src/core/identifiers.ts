/**
 * Matrix identifiers (spec appendix "Identifier Grammar", rooms/v1–v12 event
 * and room id formats, key ids from the server keys API). Every parser
 * returns a result or a reason and never throws, because its input usually
 * comes from another server or a client.
 */
import type { EventIdFormat } from './room-versions.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** User ids, room ids (with a domain), aliases and event ids are capped at 255 bytes of UTF-8. */
export const MAX_ID_BYTES = 255;

// ---------------------------------------------------------------- server names

export interface ServerName {
  /** The host as written: a DNS name, a dotted quad, or an IPv6 literal with its brackets (like URL.hostname). */
  host: string;
  kind: 'dns' | 'ipv4' | 'ipv6';
  /** Absent when the name has no explicit port. */
  port?: number;
}

const DNS_NAME = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;
const DIGITS = /^[0-9]+$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

function ipv4Problem(host: string): string | undefined {
  const parts = host.split('.');
  if (parts.length !== 4) return 'an IPv4 literal has four parts';
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return 'an IPv4 part is 1 to 3 digits';
    // Resolvers read a leading zero as octal, so "010" would name a different host than the spec's decimal reading.
    if (part.length > 1 && part.startsWith('0')) return 'an IPv4 part has a leading zero';
    if (Number(part) > 255) return 'an IPv4 part is above 255';
  }
  return undefined;
}

/** RFC 3513 §2.2 text forms: eight groups, `::` once for a run of zeros, optionally ending in a dotted quad. */
function ipv6Problem(address: string): string | undefined {
  // The spec grammar: 2 to 45 of [0-9A-Fa-f:.]
  if (address.length < 2 || address.length > 45) return 'an IPv6 literal is 2 to 45 characters';
  if (!/^[0-9A-Fa-f:.]+$/.test(address)) return 'an IPv6 literal holds only hex digits, ":" and "."';
  const halves = address.split('::');
  if (halves.length > 2) return 'an IPv6 literal has "::" at most once';
  const groupsOf = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const all = [...head, ...tail];
  // A dotted quad may only end the text: not before "::" ("1.2.3.4::" is malformed).
  const lastInText = halves.length === 2 && tail.length === 0 ? -1 : all.length - 1;
  let count = 0;
  for (let i = 0; i < all.length; i++) {
    const group = all[i]!;
    if (i === lastInText && group.includes('.')) {
      if (ipv4Problem(group)) return 'the embedded IPv4 part of an IPv6 literal is malformed';
      count += 2;
    } else if (HEX_GROUP.test(group)) {
      count += 1;
    } else {
      return 'an IPv6 group is 1 to 4 hex digits';
    }
  }
  if (halves.length === 2 ? count > 7 : count !== 8) return 'an IPv6 literal has the wrong number of groups';
  return undefined;
}

/** Parses `hostname [":" port]`, hostname being a DNS name, a dotted quad or `[IPv6]`. */
export function parseServerName(name: string): Parsed<ServerName> {
  if (typeof name !== 'string' || name === '') return fail('the server name is empty');
  let host: string;
  let rest: string;
  if (name.startsWith('[')) {
    const close = name.indexOf(']');
    if (close < 0) return fail('an IPv6 literal lacks its closing "]"');
    host = name.slice(0, close + 1);
    rest = name.slice(close + 1);
  } else {
    const colon = name.indexOf(':');
    host = colon < 0 ? name : name.slice(0, colon);
    rest = colon < 0 ? '' : name.slice(colon);
  }

  let port: number | undefined;
  if (rest !== '') {
    if (!rest.startsWith(':')) return fail('the host is followed by something other than ":port"');
    const digits = rest.slice(1);
    if (!DIGITS.test(digits) || digits.length > 5) return fail('the port is 1 to 5 digits');
    port = Number(digits);
    if (port < 1 || port > 65535) return fail('the port is outside 1–65535');
  }

  let kind: ServerName['kind'];
  if (host.startsWith('[')) {
    const problem = ipv6Problem(host.slice(1, -1));
    if (problem) return fail(problem);
    kind = 'ipv6';
  } else {
    if (host === '') return fail('the hostname is empty');
    if (host.length > 255) return fail('a DNS name is at most 255 characters');
    if (!DNS_NAME.test(host)) return fail('a DNS name is labels of letters, digits and "-" separated by "."');
    // A name whose last label is numeric can only be meant as an IPv4 literal
    // (no top-level domain is numeric); URL parsers read it that way too.
    const last = host.slice(host.lastIndexOf('.') + 1);
    if (DIGITS.test(last)) {
      const problem = ipv4Problem(host);
      if (problem) return fail(problem);
      kind = 'ipv4';
    } else {
      kind = 'dns';
    }
  }
  return ok(port === undefined ? { host, kind } : { host, kind, port });
}

export function isValidServerName(name: string): boolean {
  return parseServerName(name).ok;
}

// ---------------------------------------------------------------- shared parts

/** `!`, `@`, `#`, `$` ids with a domain: the localpart ends at the first ":" (a localpart never holds one; a server name may). */
function splitDomainId(id: string, sigil: string, what: string): Parsed<{ local: string; serverName: string; server: ServerName }> {
  if (typeof id !== 'string') return fail(`a ${what} is a string`);
  if (!id.startsWith(sigil)) return fail(`a ${what} starts with "${sigil}"`);
  if (Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) return fail(`a ${what} is at most ${MAX_ID_BYTES} bytes`);
  const colon = id.indexOf(':');
  if (colon < 0) return fail(`a ${what} has a ":server" part`);
  const serverName = id.slice(colon + 1);
  const server = parseServerName(serverName);
  if (!server.ok) return fail(`the server name of a ${what} is invalid: ${server.reason}`);
  return ok({ local: id.slice(1, colon), serverName, server: server.value });
}

/** The "opaque" localpart rule shared by historical user ids, room ids and aliases: any code points but ":" and NUL, no lone surrogates. */
function opaqueLocalpartProblem(local: string): string | undefined {
  if (local.includes('\u0000')) return 'the localpart holds NUL';
  if (!local.isWellFormed()) return 'the localpart holds a lone UTF-16 surrogate';
  return undefined;
}

/** A 43-character unpadded base64 SHA-256 hash whose last character carries no stray bits. */
function hashProblem(hash: string, alphabet: 'standard' | 'url'): string | undefined {
  const shape = alphabet === 'url' ? /^[A-Za-z0-9_-]{43}$/ : /^[A-Za-z0-9+/]{43}$/;
  if (!shape.test(hash)) {
    return `the hash is not 43 characters of ${alphabet === 'url' ? 'URL-safe' : 'standard'} unpadded base64`;
  }
  // 32 bytes use 256 of the 258 bits in 43 characters; an encoder leaves the last 2 bits zero,
  // so any other last character cannot be the encoding of a hash.
  if (!/[AEIMQUYcgkosw048]$/.test(hash)) return 'the hash has non-zero spare bits in its last character';
  return undefined;
}

// ---------------------------------------------------------------- user ids

/**
 * `strict`: the grammar a server uses for ids it creates (`[a-z0-9._=/+-]+`).
 * `historical`: what it must accept from other servers (any code points but ":" and NUL, even empty).
 */
export type UserIdGrammar = 'strict' | 'historical';

export interface UserId {
  localpart: string;
  serverName: string;
  server: ServerName;
  /** The spec calls a localpart outside U+0021–U+007E, or empty, non-compliant: accept in events, do not pass to clients elsewhere. */
  compliant: boolean;
}

const STRICT_LOCALPART = /^[a-z0-9._=/+-]+$/;
const COMPLIANT_LOCALPART = /^[\x21-\x7e]+$/;

/** The reason `localpart` does not fit `grammar`, or undefined when it does. */
export function userLocalpartProblem(localpart: string, grammar: UserIdGrammar): string | undefined {
  if (grammar === 'strict') {
    if (localpart === '') return 'the localpart is empty';
    if (!STRICT_LOCALPART.test(localpart)) return 'the localpart holds characters outside a-z 0-9 . _ = - / +';
    return undefined;
  }
  if (localpart.includes(':')) return 'the localpart holds ":"';
  return opaqueLocalpartProblem(localpart);
}

/** Parses `@localpart:server`; `historical` (the default) is what must be accepted from other servers. */
export function parseUserId(id: string, grammar: UserIdGrammar = 'historical'): Parsed<UserId> {
  const split = splitDomainId(id, '@', 'user id');
  if (!split.ok) return split;
  const { local, serverName, server } = split.value;
  const problem = userLocalpartProblem(local, grammar);
  if (problem) return fail(problem);
  return ok({ localpart: local, serverName, server, compliant: COMPLIANT_LOCALPART.test(local) });
}

export function isValidUserId(id: string, grammar: UserIdGrammar = 'historical'): boolean {
  return parseUserId(id, grammar).ok;
}

// ---------------------------------------------------------------- room ids

/** `domain`: `!opaque:server` (room versions 1–11). `hash`: `!` + URL-safe hash of the create event (v12+). */
export type RoomIdFormat = 'domain' | 'hash';

export interface RoomId {
  format: RoomIdFormat;
  /** The part after `!` (and before `:server` when there is one). */
  opaque: string;
  /** Present only for the `domain` format. */
  serverName?: string;
  server?: ServerName;
}

/** Parses a room id; `expect` (from the room version) pins the format, otherwise either is accepted. */
export function parseRoomId(id: string, expect?: RoomIdFormat): Parsed<RoomId> {
  if (typeof id !== 'string' || !id.startsWith('!')) return fail('a room id starts with "!"');
  const format: RoomIdFormat = expect ?? (id.includes(':') ? 'domain' : 'hash');
  if (format === 'hash') {
    const problem = hashProblem(id.slice(1), 'url');
    if (problem) return fail(`a room id of room version 12+ is "!" and a hash: ${problem}`);
    return ok({ format, opaque: id.slice(1) });
  }
  const split = splitDomainId(id, '!', 'room id');
  if (!split.ok) return split;
  const problem = opaqueLocalpartProblem(split.value.local);
  if (problem) return fail(problem);
  return ok({ format, opaque: split.value.local, serverName: split.value.serverName, server: split.value.server });
}

export function isValidRoomId(id: string, expect?: RoomIdFormat): boolean {
  return parseRoomId(id, expect).ok;
}

// ---------------------------------------------------------------- event ids

export interface EventId {
  /** `v1`: `$opaque:server` (rooms v1–v2); `v3`: `$` + standard base64 hash; `v4`: `$` + URL-safe base64 hash (v4+). */
  format: EventIdFormat;
  opaque: string;
  /** Present only for the `v1` format. */
  serverName?: string;
  server?: ServerName;
}

/**
 * Parses an event id; `expect` is the room version's `eventIdFormat`. Without
 * it any format is accepted, and a hash using only characters common to both
 * alphabets is reported as `v4`.
 */
export function parseEventId(id: string, expect?: EventIdFormat): Parsed<EventId> {
  if (typeof id !== 'string' || !id.startsWith('$')) return fail('an event id starts with "$"');
  const format: EventIdFormat = expect ?? (id.includes(':') ? 'v1' : /[+/]/.test(id) ? 'v3' : 'v4');
  if (format === 'v1') {
    const split = splitDomainId(id, '$', 'event id');
    if (!split.ok) return split;
    const problem = opaqueLocalpartProblem(split.value.local);
    if (problem) return fail(problem);
    return ok({ format, opaque: split.value.local, serverName: split.value.serverName, server: split.value.server });
  }
  const problem = hashProblem(id.slice(1), format === 'v3' ? 'standard' : 'url');
  if (problem) return fail(`an event id of room version ${format === 'v3' ? '3' : '4+'} is "$" and a hash: ${problem}`);
  return ok({ format, opaque: id.slice(1) });
}

export function isValidEventId(id: string, expect?: EventIdFormat): boolean {
  return parseEventId(id, expect).ok;
}

// ---------------------------------------------------------------- room aliases

export interface RoomAlias {
  localpart: string;
  serverName: string;
  server: ServerName;
}

/** Parses `#localpart:server`. */
export function parseRoomAlias(alias: string): Parsed<RoomAlias> {
  const split = splitDomainId(alias, '#', 'room alias');
  if (!split.ok) return split;
  const problem = opaqueLocalpartProblem(split.value.local);
  if (problem) return fail(problem);
  return ok({ localpart: split.value.local, serverName: split.value.serverName, server: split.value.server });
}

export function isValidRoomAlias(alias: string): boolean {
  return parseRoomAlias(alias).ok;
}

// ---------------------------------------------------------------- key ids

export interface KeyId {
  algorithm: string;
  version: string;
}

/**
 * Parses `algorithm:version`. `server` (the default) is the server signing
 * key form, whose version the key API limits to `[a-zA-Z0-9_]`; `any` also
 * admits device key ids (`ed25519:DEVICEID`), whose version is any non-empty text.
 */
export function parseKeyId(id: string, grammar: 'server' | 'any' = 'server'): Parsed<KeyId> {
  if (typeof id !== 'string') return fail('a key id is a string');
  const colon = id.indexOf(':');
  if (colon < 0) return fail('a key id is "algorithm:version"');
  const algorithm = id.slice(0, colon);
  const version = id.slice(colon + 1);
  if (!/^[a-z0-9_]+$/.test(algorithm)) return fail('a key algorithm is lowercase letters, digits and "_"');
  if (version === '') return fail('a key version is not empty');
  if (grammar === 'server' && !/^[a-zA-Z0-9_]+$/.test(version)) return fail('a server key version is letters, digits and "_"');
  return ok({ algorithm, version });
}

// ---------------------------------------------------------------- helpers

/**
 * The server name inside a user id, alias, domain-form room id or v1 event id;
 * undefined for ids without one (hash-form room and event ids) and for invalid ids.
 */
export function serverNameOf(id: string): string | undefined {
  if (typeof id !== 'string') return undefined;
  let parsed: Parsed<{ serverName?: string }>;
  switch (id[0]) {
    case '@':
      parsed = parseUserId(id, 'historical');
      break;
    case '#':
      parsed = parseRoomAlias(id);
      break;
    case '!':
      parsed = parseRoomId(id);
      break;
    case '$':
      parsed = parseEventId(id);
      break;
    default:
      return undefined;
  }
  return parsed.ok ? parsed.value.serverName : undefined;
}
