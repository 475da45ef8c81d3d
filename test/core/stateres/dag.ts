// Builds rooms for state resolution tests: each event cites the auth events
// the selection algorithm picks from the state it is sent in.
import { authEventKeys } from '../../../src/core/auth/index.js';
import type { JsonObject } from '../../../src/core/canonical-json.js';
import type { PDU } from '../../../src/core/events/pdu.js';
import { roomVersion, type RoomVersion } from '../../../src/core/room-versions.js';
import { stateKey } from '../../../src/core/stateres/index.js';

export interface NewEvent {
  type: string;
  sender: string;
  stateKey?: string;
  content?: JsonObject;
  ts?: number;
  depth?: number;
  /** Override the selected auth events. */
  authEvents?: string[];
}

export class Dag {
  readonly version: RoomVersion;
  readonly events = new Map<string, PDU>();
  readonly roomId: string;
  private ts = 0;

  constructor(versionId: string, roomId = '!room:a') {
    this.version = roomVersion(versionId)!;
    this.roomId = roomId;
  }

  readonly getEvent = (id: string): PDU | undefined => this.events.get(id);

  /** Adds an event sent in `state` (which it then joins, if it is a state event) and returns its id. */
  add(id: string, fields: NewEvent, state: Map<string, string>): string {
    const pdu: PDU = {
      event_id: id,
      room_id: this.roomId,
      sender: fields.sender,
      type: fields.type,
      content: fields.content ?? {},
      origin_server_ts: fields.ts ?? ++this.ts,
      depth: fields.depth ?? this.events.size + 1,
      prev_events: [],
      auth_events: [],
      hashes: { sha256: '' },
      signatures: {},
    };
    if (fields.stateKey !== undefined) pdu.state_key = fields.stateKey;
    if (fields.type === 'm.room.create' && this.version.roomIdIsCreateEventHash) delete pdu.room_id;
    pdu.auth_events =
      fields.authEvents ??
      authEventKeys(pdu, this.version)
        .map((k) => state.get(stateKey(k.type, k.stateKey)))
        .filter((x): x is string => x !== undefined);
    this.events.set(id, pdu);
    if (fields.stateKey !== undefined) state.set(stateKey(fields.type, fields.stateKey), id);
    return id;
  }

  /** create, creator join, power levels, public join rules. */
  bootstrap(creator: string, powerLevels: JsonObject, createId = '$create'): Map<string, string> {
    const state = new Map<string, string>();
    const content: JsonObject = this.version.useSenderAsCreator ? {} : { creator };
    this.add(createId, { type: 'm.room.create', sender: creator, stateKey: '', content }, state);
    this.add('$join-creator', { type: 'm.room.member', sender: creator, stateKey: creator, content: { membership: 'join' } }, state);
    this.add('$pl0', { type: 'm.room.power_levels', sender: creator, stateKey: '', content: powerLevels }, state);
    this.add('$jr0', { type: 'm.room.join_rules', sender: creator, stateKey: '', content: { join_rule: 'public' } }, state);
    return state;
  }

  join(id: string, user: string, state: Map<string, string>, content: JsonObject = {}): string {
    return this.add(id, { type: 'm.room.member', sender: user, stateKey: user, content: { membership: 'join', ...content } }, state);
  }
}
