// A small in-memory room for auth rule tests: events carry explicit ids and
// the room keeps the current state that checkAuth reads.
import { checkAuth, type AuthHooks, type AuthResult, type AuthState } from '../../../src/core/auth/index.js';
import type { JsonObject } from '../../../src/core/canonical-json.js';
import type { PDU } from '../../../src/core/events/pdu.js';
import { roomVersion, type RoomVersion } from '../../../src/core/room-versions.js';

let counter = 0;

export interface RoomOptions {
  creator?: string;
  createContent?: JsonObject;
}

export class TestRoom implements AuthState {
  readonly version: RoomVersion;
  readonly roomId: string;
  readonly create: PDU;
  private readonly state = new Map<string, PDU>();

  constructor(versionId: string, options: RoomOptions = {}) {
    this.version = roomVersion(versionId)!;
    const creator = options.creator ?? '@alice:a';
    const createId = `$create${++counter}`;
    // v12 room ids name the create event; earlier ones carry the creating server.
    this.roomId = this.version.roomIdIsCreateEventHash ? `!${createId.slice(1)}` : '!room:a';
    const content = options.createContent ?? (this.version.useSenderAsCreator ? {} : { creator });
    this.create = this.pdu({ event_id: createId, type: 'm.room.create', state_key: '', sender: creator, content });
    if (this.version.roomIdIsCreateEventHash) delete this.create.room_id;
    this.put(this.create);
  }

  /** A PDU in this room with harmless defaults. */
  pdu(fields: Partial<PDU> & { type: string; sender: string }): PDU {
    return {
      event_id: `$e${++counter}`,
      room_id: this.roomId,
      content: {},
      origin_server_ts: counter,
      depth: counter,
      prev_events: [],
      auth_events: [],
      hashes: { sha256: '' },
      signatures: {},
      ...fields,
    } as PDU;
  }

  member(userId: string, membership: string, sender = userId, extra: JsonObject = {}): PDU {
    return this.pdu({ type: 'm.room.member', state_key: userId, sender, content: { membership, ...extra } });
  }

  state_(type: string, content: JsonObject, sender: string, stateKey = ''): PDU {
    return this.pdu({ type, state_key: stateKey, sender, content });
  }

  put(...events: PDU[]): this {
    for (const e of events) this.state.set(JSON.stringify([e.type, e.state_key]), e);
    return this;
  }

  join(...users: string[]): this {
    return this.put(...users.map((u) => this.member(u, 'join')));
  }

  get(type: string, stateKey: string): PDU | undefined {
    return this.state.get(JSON.stringify([type, stateKey]));
  }

  check(event: PDU, hooks?: AuthHooks): AuthResult {
    return checkAuth(event, this, this.version, hooks);
  }
}
