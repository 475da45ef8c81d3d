/**
 * The sliding sync request body (MSC4186), checked and normalised before
 * anything else happens: a request that is refused changes nothing.
 *
 * Both the shapes clients send today (Synapse's: `ranges`, `is_invite`,
 * required_state as pairs) and the MSC's newer ones (`range`, `is_invited`,
 * `{include, exclude, lazy_members}`, `pos`/`timeout` in the body) are read.
 * Fields a list or extension leaves out keep what the connection had
 * (matrix-js-sdk sends a list's parameters once, then only its ranges).
 */
import { MatrixError, type ErrCode } from '../../../core/errors.js';
import { parseRoomId } from '../../../core/identifiers.js';
import { parseRequiredState, type StateSpec } from './required-state.js';

export const MAX_LISTS = 100;
export const MAX_SUBSCRIPTIONS = 100;
export const MAX_TIMELINE_LIMIT = 100;
const MAX_RANGES = 100;

export interface ListFilters {
  is_dm?: boolean;
  is_encrypted?: boolean;
  is_invite?: boolean;
  /** null is a room without a type. */
  room_types?: (string | null)[];
  not_room_types?: (string | null)[];
  spaces?: string[];
  tags?: string[];
  not_tags?: string[];
}

export interface ListRequest {
  /** Inclusive [start, end] windows; undefined: as the connection had it (else every room). */
  ranges?: [number, number][] | undefined;
  timeline_limit?: number | undefined;
  required_state?: StateSpec | undefined;
  filters?: ListFilters | undefined;
}

export interface RoomConfig {
  timeline_limit: number;
  required_state: StateSpec;
}

export interface ExtensionRequest {
  enabled?: boolean | undefined;
  /** to_device: the `next_batch` the client last received. */
  since?: string | undefined;
  limit?: number | undefined;
}

export const EXTENSIONS = ['to_device', 'e2ee', 'account_data', 'receipts', 'typing'] as const;
export type ExtensionName = (typeof EXTENSIONS)[number];

export interface SlidingRequest {
  conn_id: string;
  pos: string | undefined;
  timeoutMs: number;
  set_presence: 'online' | 'offline' | 'unavailable';
  lists: Map<string, ListRequest>;
  room_subscriptions: Map<string, RoomConfig>;
  unsubscribe_rooms: string[];
  extensions: Map<ExtensionName, ExtensionRequest>;
}

function bad(msg: string, code: ErrCode = 'M_INVALID_PARAM'): never {
  throw new MatrixError(400, code, msg);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function intField(v: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  if (!isInt(v) || v < 0) bad(`${name} must be a non-negative integer`);
  return Math.min(v, max);
}

function boolField(v: unknown, name: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') bad(`${name} must be a boolean`);
  return v;
}

function strings(v: unknown, name: string, nullable: boolean): (string | null)[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > 1000 || !v.every((x) => typeof x === 'string' || (nullable && x === null))) {
    bad(`${name} must be a list of strings${nullable ? ' (or null)' : ''}`);
  }
  return v as (string | null)[];
}

function range(v: unknown, name: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !isInt(v[0]) || !isInt(v[1]) || v[0] < 0 || v[1] < v[0]) {
    bad(`${name} must be [start, end] with 0 <= start <= end`);
  }
  return [v[0], v[1]];
}

const FILTER_KEYS = new Set(['is_dm', 'is_encrypted', 'is_invite', 'is_invited', 'room_types', 'not_room_types', 'spaces', 'tags', 'not_tags']);

function parseFilters(v: unknown, where: string): ListFilters | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) bad(`${where}.filters must be an object`);
  for (const k of Object.keys(v)) if (!FILTER_KEYS.has(k)) bad(`${where}.filters: unknown filter ${k}`);
  const f: ListFilters = {};
  const set = <K extends keyof ListFilters>(k: K, val: ListFilters[K] | undefined) => {
    if (val !== undefined) f[k] = val;
  };
  set('is_dm', boolField(v.is_dm, `${where}.filters.is_dm`));
  set('is_encrypted', boolField(v.is_encrypted, `${where}.filters.is_encrypted`));
  set('is_invite', boolField(v.is_invite ?? v.is_invited, `${where}.filters.is_invite`));
  set('room_types', strings(v.room_types, `${where}.filters.room_types`, true));
  set('not_room_types', strings(v.not_room_types, `${where}.filters.not_room_types`, true));
  set('spaces', strings(v.spaces, `${where}.filters.spaces`, false) as string[] | undefined);
  set('tags', strings(v.tags, `${where}.filters.tags`, false) as string[] | undefined);
  set('not_tags', strings(v.not_tags, `${where}.filters.not_tags`, false) as string[] | undefined);
  return f;
}

function parseList(v: unknown, name: string, userId: string): ListRequest {
  const where = `lists.${name}`;
  if (!isObject(v)) bad(`${where} must be an object`);
  const out: ListRequest = {};
  if (v.ranges !== undefined) {
    if (!Array.isArray(v.ranges) || v.ranges.length > MAX_RANGES) bad(`${where}.ranges must be a list of [start, end]`);
    out.ranges = v.ranges.map((r, i) => range(r, `${where}.ranges[${i}]`));
  } else if (v.range !== undefined) out.ranges = [range(v.range, `${where}.range`)];
  out.timeline_limit = intField(v.timeline_limit, `${where}.timeline_limit`, MAX_TIMELINE_LIMIT);
  if (v.required_state !== undefined) out.required_state = parseRequiredState(v.required_state, userId, where);
  out.filters = parseFilters(v.filters, where);
  return out;
}

export function parseSlidingRequest(body: unknown, query: { pos?: string | undefined; timeout?: number | undefined; set_presence?: string | undefined }, userId: string): SlidingRequest {
  if (body === undefined || body === null || body === '') body = {};
  if (!isObject(body)) bad('The request body must be a JSON object', 'M_BAD_JSON');
  const b = body;
  const connId = b.conn_id ?? '';
  if (typeof connId !== 'string' || connId.length > 255) bad('conn_id must be a string');

  let pos = query.pos;
  if (pos === undefined && b.pos !== undefined && b.pos !== null) {
    if (typeof b.pos !== 'string') bad('pos must be a string');
    pos = b.pos;
  }
  const timeoutMs = query.timeout ?? intField(b.timeout, 'timeout') ?? 0;
  const presence = query.set_presence ?? b.set_presence ?? 'online';
  if (presence !== 'online' && presence !== 'offline' && presence !== 'unavailable') bad('set_presence must be one of online, offline, unavailable');

  const lists = new Map<string, ListRequest>();
  if (b.lists !== undefined && b.lists !== null) {
    if (!isObject(b.lists)) bad('lists must be an object');
    const names = Object.keys(b.lists);
    if (names.length > MAX_LISTS) bad(`at most ${MAX_LISTS} lists`);
    for (const name of names) {
      if (name.length === 0 || name.length > 255) bad('list names must be 1 to 255 characters');
      lists.set(name, parseList(b.lists[name], name, userId));
    }
  }

  const subs = new Map<string, RoomConfig>();
  if (b.room_subscriptions !== undefined && b.room_subscriptions !== null) {
    if (!isObject(b.room_subscriptions)) bad('room_subscriptions must be an object');
    const ids = Object.keys(b.room_subscriptions);
    if (ids.length > MAX_SUBSCRIPTIONS) bad(`at most ${MAX_SUBSCRIPTIONS} room subscriptions`);
    for (const roomId of ids) {
      if (!parseRoomId(roomId).ok) bad(`room_subscriptions: ${roomId} is not a room id`);
      const v = b.room_subscriptions[roomId];
      const where = `room_subscriptions.${roomId}`;
      if (!isObject(v)) bad(`${where} must be an object`);
      subs.set(roomId, {
        timeline_limit: intField(v.timeline_limit, `${where}.timeline_limit`, MAX_TIMELINE_LIMIT) ?? 0,
        required_state: parseRequiredState(v.required_state, userId, where),
      });
    }
  }
  const unsub = strings(b.unsubscribe_rooms, 'unsubscribe_rooms', false) ?? [];

  const extensions = new Map<ExtensionName, ExtensionRequest>();
  if (b.extensions !== undefined && b.extensions !== null) {
    if (!isObject(b.extensions)) bad('extensions must be an object');
    for (const name of EXTENSIONS) {
      const v = b.extensions[name];
      if (v === undefined || v === null) continue;
      if (!isObject(v)) bad(`extensions.${name} must be an object`);
      const e: ExtensionRequest = { enabled: boolField(v.enabled, `extensions.${name}.enabled`) };
      if (name === 'to_device') {
        if (v.since !== undefined && v.since !== null && typeof v.since !== 'string') bad('extensions.to_device.since must be a string');
        e.since = (v.since as string | null | undefined) ?? undefined;
        e.limit = intField(v.limit, 'extensions.to_device.limit');
      }
      extensions.set(name, e);
    }
  }
  return { conn_id: connId, pos, timeoutMs, set_presence: presence, lists, room_subscriptions: subs, unsubscribe_rooms: unsub as string[], extensions };
}
