/**
 * RoomserverAPI: every event of every room passes through here. Other
 * components send events (input), ask about rooms (queries) and perform
 * room operations; they learn about new events from the output log
 * (topics.ts).
 */
import type { JsonObject } from '../../core/canonical-json.js';
import type { PDU } from '../../core/events/pdu.js';
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

/** An event as the roomserver stores it. */
export interface RoomEvent {
  event_id: string;
  room_id: string;
  room_version: string;
  /** The event as servers exchange it; already redacted when `redacted_because` is set. */
  pdu: PDU;
  /** The redaction event that redacted this one. */
  redacted_because?: PDU & { event_id: string };
  /** For a local event sent with a client transaction: its device and id (the sender's `unsigned.transaction_id`). */
  txn?: { device_id: string; txn_id: string };
}

/**
 * A client transaction: scoped, as the client-server API scopes `txnId`, to
 * the device and the request path (room and event type).
 */
export interface TxnKey {
  user_id: string;
  device_id: string;
  room_id: string;
  type: string;
  txn_id: string;
}

/** A new event from a local user, which the roomserver completes, signs and checks. */
export interface SendEventRequest {
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  content: JsonObject;
  /** m.room.redaction only. */
  redacts?: string;
  /**
   * The client transaction that sent it: the same (sender, device, txn id)
   * sent again returns the first event instead of a new one, across restarts.
   */
  txn?: { device_id: string; txn_id: string };
}

export interface SendEventResponse {
  event_id: string;
  /** True when this request repeated a transaction that had already produced the event. */
  duplicate?: boolean;
}

export type RoomPreset = 'private_chat' | 'trusted_private_chat' | 'public_chat';

/** A room to create, already validated by the ClientAPI (client-server API `POST /createRoom`). */
export interface CreateRoomRequest {
  creator: string;
  /** Defaults to the server's default room version (12). */
  room_version?: string;
  /** displayname / avatar_url for the creator's join event. */
  creator_profile?: { displayname?: string; avatar_url?: string };
  preset: RoomPreset;
  creation_content?: JsonObject;
  power_level_content_override?: JsonObject;
  initial_state?: { type: string; state_key: string; content: JsonObject }[];
  name?: string;
  topic?: string;
  /** The full alias (`#local:server`) for m.room.canonical_alias; the ClientAPI reserves it. */
  canonical_alias?: string;
  invite?: string[];
  is_direct?: boolean;
}

/** An event from another server (federation, backfill) or an auth-chain event fetched for one. */
export interface InputEvent {
  pdu: PDU;
  room_version: string;
  /**
   * new: a live event that moves the room forward; outlier: an event we keep
   * for its own sake (auth chains, invites) without state; backfill: history
   * before what we have.
   */
  kind: 'new' | 'outlier' | 'backfill';
  /** The server that sent it to us. */
  origin?: string;
}

export interface InputResult {
  event_id: string;
  /** Set when the event was refused; the reason says why. */
  rejected?: string;
  /** Accepted into the DAG but not into current state (it fails against current state). */
  soft_failed?: boolean;
  /** Set when the event had been stored before. */
  duplicate?: boolean;
}

export type StateKeyTuple = [type: string, state_key: string];

export interface StateRequest {
  room_id: string;
  /** Only these (type, state_key) pairs. */
  keys?: StateKeyTuple[];
  /** Only these event types. */
  types?: string[];
}

export interface RoomSummary {
  room_id: string;
  room_version: string;
  /** Forward extremities. */
  latest_event_ids: string[];
  depth: number;
}

export interface JoinRequest {
  room_id: string;
  user_id: string;
  /** Extra content for the join event (displayname, avatar_url, reason). */
  content?: JsonObject;
}

export interface UpgradeRequest {
  room_id: string;
  user_id: string;
  new_version: string;
  /** v12+: creators of the new room besides the user (not carried over automatically). */
  additional_creators?: string[];
}

/** `createRoom` with the room's alias reserved first and its place in the published directory. */
export interface PerformCreateRoomRequest extends CreateRoomRequest {
  /** A local alias (`#name:server`) for the room; it also becomes the canonical alias. 400 M_ROOM_IN_USE when taken. */
  alias?: string;
  /** Publish the room in the server's room directory (`visibility: public`). */
  publish?: boolean;
}

export interface RoomAliasRecord {
  room_id: string;
  /** Who created the alias; they may always delete it. */
  creator: string;
}

export type DirectoryVisibility = 'public' | 'private';

/** A room as the published room directory lists it (client-server API `PublishedRoomsChunk`). */
export interface PublicRoom {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  name?: string;
  topic?: string;
  avatar_url?: string;
  canonical_alias?: string;
  join_rule?: string;
  room_type?: string;
}

/** What a client sees of a room before joining it (client-server API `GET /room_summary`). */
export interface RoomPreview extends PublicRoom {
  room_version: string;
  /** m.megolm.v1.aes-sha2 when the room is encrypted. */
  encryption?: string;
  /** For a restricted room: the rooms whose members may join. */
  allowed_room_ids?: string[];
}

export interface PublicRoomsRequest {
  limit?: number;
  /** A `next_batch` or `prev_batch` token of an earlier answer. */
  since?: string;
  filter?: { generic_search_term?: string; room_types?: (string | null)[] };
}

export interface PublicRoomsResponse {
  chunk: PublicRoom[];
  next_batch?: string;
  prev_batch?: string;
  total_room_count_estimate: number;
}

export interface RoomserverAPI {
  createRoom(req: CreateRoomRequest, ctx?: CallContext): Promise<{ room_id: string }>;
  sendEvent(req: SendEventRequest, ctx?: CallContext): Promise<SendEventResponse>;
  /**
   * Joins a local user to a room this server knows, satisfying a restricted
   * join rule on the user's behalf when one of its conditions holds.
   */
  performJoin(req: JoinRequest, ctx?: CallContext): Promise<{ event_id: string }>;
  /** Forgets a room the user has left: it no longer counts among their rooms until they are in it again. */
  performForget(req: { room_id: string; user_id: string }, ctx?: CallContext): Promise<void>;
  /** Replaces a room by a new one of another version (client-server API "Room upgrades"). */
  performUpgrade(req: UpgradeRequest, ctx?: CallContext): Promise<{ replacement_room: string }>;
  inputEvents(req: { events: InputEvent[] }, ctx?: CallContext): Promise<{ results: InputResult[] }>;

  queryRoom(req: { room_id: string }, ctx?: CallContext): Promise<RoomSummary | null>;
  queryEvents(req: { event_ids: string[] }, ctx?: CallContext): Promise<{ events: RoomEvent[] }>;
  queryCurrentState(req: StateRequest, ctx?: CallContext): Promise<{ events: RoomEvent[] }>;
  /** The room state just before `event_id`, or just after it when `after` is set. */
  queryStateAtEvent(req: { event_id: string; after?: boolean; keys?: StateKeyTuple[]; types?: string[] }, ctx?: CallContext): Promise<{ events: RoomEvent[] }>;
  /** `forgotten`: the user left (or was banned) and then forgot the room, so its history is closed to them. */
  queryMembership(req: { room_id: string; user_id: string }, ctx?: CallContext): Promise<{ membership: string | null; event_id: string | null; forgotten?: true }>;
  /** The rooms a user has a membership in; forgotten rooms are left out unless asked for. */
  queryRoomsForUser(
    req: { user_id: string; membership?: string; include_forgotten?: boolean },
    ctx?: CallContext,
  ): Promise<{ rooms: { room_id: string; membership: string; forgotten?: boolean }[] }>;
  queryJoinedHosts(req: { room_id: string }, ctx?: CallContext): Promise<{ servers: string[] }>;
  queryServerInRoom(req: { room_id: string; server_name: string }, ctx?: CallContext): Promise<{ joined: boolean }>;

  // Aliases and the published room directory (aliases.ts). Aliases are local to this server.
  performCreateRoom(req: PerformCreateRoomRequest, ctx?: CallContext): Promise<{ room_id: string }>;
  /** Maps a local alias to a room; 409 when the alias exists, 403 unless the user is joined (or an admin). */
  setRoomAlias(req: { alias: string; room_id: string; user_id: string; is_admin?: boolean }, ctx?: CallContext): Promise<void>;
  /** The room a local alias points to and the servers in it, or null. */
  queryRoomAlias(req: { alias: string }, ctx?: CallContext): Promise<(RoomAliasRecord & { servers: string[] }) | null>;
  /**
   * Removes a local alias: its creator, a member who may send
   * m.room.canonical_alias, or an admin may. The canonical alias event stops
   * naming it where the user may change that event.
   */
  removeRoomAlias(req: { alias: string; user_id: string; is_admin?: boolean }, ctx?: CallContext): Promise<void>;
  queryRoomAliases(req: { room_id: string }, ctx?: CallContext): Promise<{ aliases: string[] }>;
  /** Points every local alias (and the directory entry) of an upgraded room at its replacement. */
  moveRoomAliases(req: { from_room_id: string; to_room_id: string; user_id: string }, ctx?: CallContext): Promise<void>;
  /** 404 for an unknown room; publishing needs an admin or a member who may send m.room.canonical_alias. */
  setRoomVisibility(req: { room_id: string; visibility: DirectoryVisibility; user_id: string; is_admin?: boolean }, ctx?: CallContext): Promise<void>;
  queryRoomVisibility(req: { room_id: string }, ctx?: CallContext): Promise<{ visibility: DirectoryVisibility } | null>;
  queryPublicRooms(req: PublicRoomsRequest, ctx?: CallContext): Promise<PublicRoomsResponse>;
  /** The summary of any room this server knows, or null; who may see it is the caller's decision. */
  queryRoomPreview(req: { room_id: string }, ctx?: CallContext): Promise<RoomPreview | null>;
}

export const roomserverApi = defineApi<RoomserverAPI>('roomserver', {
  createRoom: {},
  sendEvent: {},
  performJoin: {},
  performForget: { idempotent: true },
  performUpgrade: {},
  inputEvents: { idempotent: true, timeoutMs: 120_000 },
  queryRoom: { idempotent: true },
  queryEvents: { idempotent: true },
  queryCurrentState: { idempotent: true },
  queryStateAtEvent: { idempotent: true },
  queryMembership: { idempotent: true },
  queryRoomsForUser: { idempotent: true },
  queryJoinedHosts: { idempotent: true },
  queryServerInRoom: { idempotent: true },
  performCreateRoom: {},
  setRoomAlias: {},
  queryRoomAlias: { idempotent: true },
  removeRoomAlias: {},
  queryRoomAliases: { idempotent: true },
  moveRoomAliases: { idempotent: true },
  setRoomVisibility: { idempotent: true },
  queryRoomVisibility: { idempotent: true },
  queryPublicRooms: { idempotent: true },
  queryRoomPreview: { idempotent: true },
});
