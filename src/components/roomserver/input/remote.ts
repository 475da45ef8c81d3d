/**
 * Events that did not start here: from other servers (federation), fetched
 * auth chains (outliers) and history (backfill). Each goes through the
 * server-server API's "checks performed on receipt of a PDU", in order:
 *
 * 1. a valid event of its room version (format, sizes, number ranges);
 * 2. valid signatures of the servers that must sign it;
 * 3. the content hash: when it does not match, the event is redacted and
 *    processing goes on with the redacted form;
 * 4. the auth rules against its own auth events;
 * 5. the auth rules against the state before it (rejected otherwise);
 * 6. the auth rules against the room's current state: a live event that
 *    fails this is soft-failed (kept in the DAG, not shown, not current).
 *
 * A failure at 1–2 drops the event (nothing is stored); at 4–5 the event is
 * stored as rejected so it is never fetched or used again. None of this
 * stops the other events of the same request.
 */
import { checkAuth, checkAuthWithAuthEvents } from '../../../core/auth/rules.js';
import { decodeBase64 } from '../../../core/base64.js';
import { eventId as computeEventId, roomIdOfCreateEvent } from '../../../core/events/event-id.js';
import { checkContentHash } from '../../../core/events/hashes.js';
import { referenceIds, type PDU } from '../../../core/events/pdu.js';
import { redact } from '../../../core/events/redaction.js';
import { verifyEventSignature } from '../../../core/events/sign.js';
import { validateEvent } from '../../../core/events/validate.js';
import { serverNameOf } from '../../../core/identifiers.js';
import { roomVersion, type RoomVersion } from '../../../core/room-versions.js';
import { resolveState } from '../../../core/stateres/index.js';
import { splitStateKey } from '../../../core/stateres/state-map.js';
import type { Client } from '../../../platform/ipc/directory.js';
import type { ServerKeyAPI, VerifyKeys } from '../../serverkeyapi/api.js';
import type { InputEvent, InputResult } from '../api.js';
import { nidValue } from '../state/room-state.js';
import { stateTreeKey, type RoomserverStorage, type StoredEvent } from '../storage.js';
import { hooksFor, RoomDraft, type RoomServices } from './room-draft.js';
import type { KeyedQueue } from '../../../platform/storage/keyed-queue.js';

/**
 * How many events go through checks 1–3 at once. Those need nothing from the
 * room, and their Ed25519 checks run on libuv's pool: eight in flight keep
 * both cores of the board verifying (about 15 000 a second against 9 000
 * one at a time), while the database's reads, queued on the same pool, wait
 * behind a handful of them at most.
 */
const CONCURRENT_CHECKS = 8;

/** An event past checks 1–3, or its answer already. */
type Received = { result: InputResult } | { pdu: PDU; id: string; roomId: string; version: RoomVersion };

/** The verify keys each server's signatures were checked with, looked up once per request. */
type KeysOf = (server: string) => Promise<VerifyKeys['keys']>;

export class RemoteInput {
  constructor(
    private readonly svc: RoomServices,
    private readonly queue: KeyedQueue,
    private readonly storage: RoomserverStorage,
    private readonly keys: Client<ServerKeyAPI>,
  ) {}

  /**
   * Processes events in the order given (auth events before the events
   * citing them) from check 4 on; checks 1–3 run ahead, several at a time.
   */
  async input(events: InputEvent[]): Promise<InputResult[]> {
    const lookups = new Map<string, ReturnType<KeysOf>>();
    const keysOf: KeysOf = (server) => {
      let keys = lookups.get(server);
      if (!keys) {
        keys = this.keys.verifyKeys({ server_name: server }).then((r) => r.keys);
        lookups.set(server, keys);
        // A failed lookup (the ServerKeyAPI restarting) is tried again by the next event, as before.
        keys.catch(() => lookups.delete(server));
      }
      return keys;
    };
    const received = new Array<Received>(events.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENT_CHECKS, events.length) }, async () => {
        for (let i = next++; i < events.length; i = next++) received[i] = await this.receive(events[i]!, keysOf).catch((e: Error) => failed(events[i]!, e));
      }),
    );
    const results: InputResult[] = [];
    for (const [i, r] of received.entries()) {
      if ('result' in r) {
        results.push(r.result);
        continue;
      }
      try {
        results.push(await this.queue.run(r.roomId, () => this.inRoom(events[i]!, r.pdu, r.id, r.roomId, r.version)));
      } catch (e) {
        // One bad event must not stop the others.
        results.push(failed(events[i]!, e as Error).result);
      }
    }
    return results;
  }

  /** Checks 1–3, which need nothing from the room. */
  private async receive(input: InputEvent, keysOf: KeysOf): Promise<Received> {
    const version = roomVersion(input.room_version);
    if (!version) return { result: { event_id: safeEventId(input), rejected: `unknown room version ${input.room_version}` } };
    const problem = validateEvent(input.pdu, version);
    if (problem) return { result: { event_id: safeEventId(input), rejected: problem } };
    let pdu = input.pdu;
    const id = computeEventId(pdu, version);
    if (await this.svc.events.get(id)) return { result: { event_id: id, duplicate: true } };

    const sigProblem = await this.checkSignatures(pdu, id, version, keysOf);
    if (sigProblem) return { result: { event_id: id, rejected: sigProblem } };
    if (!checkContentHash(pdu, version)) pdu = redact(pdu, version);

    const roomId = pdu.type === 'm.room.create' && version.roomIdIsCreateEventHash ? roomIdOfCreateEvent(pdu, version) : pdu.room_id!;
    return { pdu, id, roomId, version };
  }

  /** Which servers must have signed the event, and whether they did (server-server API "Validating signatures"). */
  private async checkSignatures(pdu: PDU, id: string, version: RoomVersion, keysOf: KeysOf): Promise<string | undefined> {
    const servers = new Set<string>();
    const sender = serverNameOf(pdu.sender);
    if (sender) servers.add(sender);
    // v1/v2: the server that minted the event id signs too.
    if (version.eventIdFormat === 'v1') {
      const origin = serverNameOf(id);
      if (origin) servers.add(origin);
    }
    const authoriser = pdu.content?.join_authorised_via_users_server;
    if (version.restrictedJoins && pdu.type === 'm.room.member' && pdu.content?.membership === 'join' && typeof authoriser === 'string') {
      const s = serverNameOf(authoriser);
      if (s) servers.add(s);
    }
    for (const server of servers) {
      const keys = await keysOf(server);
      const signed = Object.keys(pdu.signatures?.[server] ?? {}).filter((k) => k.startsWith('ed25519:'));
      if (signed.length === 0) return `the event is not signed by ${server}`;
      const usable = signed.filter((k) => keys[k] && (!version.enforceKeyValidity || keys[k]!.valid_until_ts >= pdu.origin_server_ts));
      if (usable.length === 0) return `no known key of ${server} can verify its signature`;
      let ok = false;
      for (const k of usable) {
        const publicKey = decodeBase64(keys[k]!.key);
        if (publicKey !== undefined && (await verifyEventSignature(pdu, server, k, publicKey, version)) === undefined) {
          ok = true;
          break;
        }
      }
      if (!ok) return `the signature of ${server} does not verify`;
    }
    return undefined;
  }

  private async inRoom(input: InputEvent, pdu: PDU, id: string, roomId: string, version: RoomVersion): Promise<InputResult> {
    if (await this.svc.events.get(id)) return { event_id: id, duplicate: true };
    const room = await this.svc.rooms.get(roomId);
    const draft = new RoomDraft(this.svc, version, room);
    const isCreate = pdu.type === 'm.room.create';

    // 4. Auth against the event's own auth events.
    const authIds = referenceIds(pdu.auth_events);
    const authStored = await this.svc.events.getMany(authIds);
    const missing = authIds.filter((_, i) => !authStored[i]);
    if (missing.length > 0) return { event_id: id, rejected: `auth events not known here: ${missing.join(', ')}` };
    const authEvents = authStored as StoredEvent[];
    const createStored = room ? await this.svc.events.get(room.create_event_id) : undefined;
    const ids = new Map<PDU, string>(authEvents.map((e, i) => [e.pdu, authIds[i]!]));
    if (createStored && room) ids.set(createStored.pdu, room.create_event_id);
    const hooks = { eventIdOf: (p: PDU) => ids.get(p) ?? (typeof p.event_id === 'string' ? p.event_id : undefined) };
    const byAuthEvents = checkAuthWithAuthEvents(
      pdu,
      authEvents.map((e) => e.pdu),
      version,
      hooks,
      { ...(createStored ? { create: createStored.pdu } : {}), isRejected: (p) => authEvents.find((e) => e.pdu === p)?.rejected !== undefined },
    );
    if (!byAuthEvents.allowed) return this.reject(draft, id, pdu, roomId, byAuthEvents.reason);

    if (input.kind === 'outlier') {
      await draft.storeEvent(id, pdu, roomId, { outlier: true });
      await draft.commit();
      return { event_id: id };
    }

    if (isCreate) {
      if (room) return this.reject(draft, id, pdu, roomId, 'the room already has a create event');
      await draft.accept(id, pdu, { stateBefore: undefined, roomId });
      await draft.commit();
      return { event_id: id };
    }
    if (!room) return { event_id: id, rejected: `room ${roomId} is not known here` };

    // 5. Auth against the state before the event.
    const prevIds = referenceIds(pdu.prev_events);
    const prevs = await this.svc.events.getMany(prevIds);
    if (prevs.some((p) => !p || !p.state_before)) {
      return { event_id: id, rejected: 'some prev_events are not known here with their state' };
    }
    const stateBefore = await this.resolveStates(
      draft,
      version,
      (prevs as StoredEvent[]).map((p) => p.state_after ?? p.state_before!),
    );
    const authState = await this.svc.state.authState(stateBefore, pdu, version);
    const byState = checkAuth(pdu, authState, version, hooksFor(authState));
    if (!byState.allowed) return this.reject(draft, id, pdu, roomId, byState.reason, stateBefore);

    if (input.kind === 'backfill') {
      await draft.storeEvent(id, pdu, roomId, { state_before: stateBefore });
      await draft.commit();
      return { event_id: id };
    }

    // 6. Soft failure against the current state.
    const current = await this.svc.state.authState(room.state, pdu, version);
    if (!checkAuth(pdu, current, version, hooksFor(current)).allowed) {
      await draft.storeEvent(id, pdu, roomId, { state_before: stateBefore, soft_failed: true });
      await draft.commit();
      return { event_id: id, soft_failed: true };
    }

    const latest = [...room.latest.filter((l) => !prevIds.includes(l)), id];
    await draft.accept(id, pdu, {
      stateBefore,
      roomId,
      latest,
      currentState: async (after) => {
        if (latest.length === 1) return after;
        const others = await this.svc.events.getMany(latest.filter((l) => l !== id));
        return this.resolveStates(draft, version, [after, ...others.map((e) => e!.state_after ?? e!.state_before!)]);
      },
    });
    await draft.commit();
    return { event_id: id };
  }

  private async reject(draft: RoomDraft, id: string, pdu: PDU, roomId: string, reason: string, stateBefore?: string): Promise<InputResult> {
    await draft.storeEvent(id, pdu, roomId, { rejected: reason, ...(stateBefore ? { state_before: stateBefore } : {}) });
    await draft.commit();
    return { event_id: id, rejected: reason };
  }

  /**
   * The state at a point with several predecessors: identical states need no
   * work; otherwise the room version's state resolution decides, over the
   * events of every state and their auth chains.
   */
  private async resolveStates(draft: RoomDraft, version: RoomVersion, roots: string[]): Promise<string> {
    const distinct = [...new Set(roots)];
    if (distinct.length === 1) return distinct[0]!;
    const maps = await Promise.all(distinct.map((r) => this.svc.state.resolutionMap(r)));
    const events = new Map<string, StoredEvent>();
    let frontier = [...new Set(maps.flatMap((m) => [...m.values()]))];
    while (frontier.length > 0) {
      const loaded = await this.svc.events.getMany(frontier);
      const next: string[] = [];
      loaded.forEach((e, i) => {
        if (!e) return;
        events.set(frontier[i]!, e);
        for (const a of referenceIds(e.pdu.auth_events)) if (!events.has(a)) next.push(a);
      });
      frontier = [...new Set(next)].filter((x) => !events.has(x));
    }
    const resolved = resolveState(version, maps, {
      getEvent: (eid) => {
        const e = events.get(eid);
        return e ? { ...e.pdu, event_id: eid } : undefined;
      },
      isRejected: (eid) => events.get(eid)?.rejected !== undefined,
    });
    // Express the resolved state as changes to the first state.
    const base = distinct[0]!;
    const baseMap = maps[0]!;
    const changes = new Map<string, string | null>();
    const nidsOf = new Map<string, number>([...events].map(([eid, e]) => [eid, e.nid]));
    for (const [key, eid] of resolved) {
      if (baseMap.get(key) === eid) continue;
      const { type, stateKey } = splitStateKey(key);
      changes.set(stateTreeKey(type, stateKey), nidValue(nidsOf.get(eid)!));
    }
    for (const key of baseMap.keys()) {
      if (!resolved.has(key)) {
        const { type, stateKey } = splitStateKey(key);
        changes.set(stateTreeKey(type, stateKey), null);
      }
    }
    if (changes.size === 0) return base;
    const update = await this.svc.state.tree.update(base, changes);
    draft.persistNodes(update.nodes);
    return update.root;
  }
}

function failed(input: InputEvent, e: Error): { result: InputResult } {
  return { result: { event_id: safeEventId(input), rejected: `could not be processed: ${e.message}` } };
}

function safeEventId(input: InputEvent): string {
  try {
    const version = roomVersion(input.room_version);
    return version ? computeEventId(input.pdu, version) : '';
  } catch {
    return '';
  }
}
