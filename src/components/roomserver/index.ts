/**
 * Roomserver: rooms, their events, their state at every event, and the
 * output log every other component learns about rooms from.
 */
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import type { WriteOp } from '../../platform/storage/database.js';
import { roomserverApi, type RoomserverAPI } from './api.js';
import { EventStore } from './events.js';
import { LocalInput } from './input/local.js';
import { RemoteInput } from './input/remote.js';
import { RoomCache } from './input/room-cache.js';
import { KeyedQueue } from '../../platform/storage/keyed-queue.js';
import type { RoomServices } from './input/room-draft.js';
import { createRoom } from './perform/create-room.js';
import { performJoin } from './perform/join.js';
import { performUpgrade } from './perform/upgrade.js';
import { MatrixError } from '../../core/errors.js';
import { roomVersion } from '../../core/room-versions.js';
import { RoomQueries } from './query.js';
import { PendingNodeStore } from './state/pending-nodes.js';
import { RoomStateReader } from './state/room-state.js';
import { StateTree } from './state/state-tree.js';
import { keys, put, RoomserverStorage } from './storage.js';
import { outputRoomEvents } from './topics.js';
import { serverKeyApi } from '../serverkeyapi/api.js';
import { RoomAliases } from './aliases.js';
import { page, preview, PREVIEW_TYPES, summarise, SUMMARY_TYPES } from './public-rooms.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  // The busiest database: a larger cache than the platform default, and a larger memtable
  // (fewer flushes, each rewriting the level-1 tables it overlaps: with 16 senders into a
  // room of 16, 4 MB instead of 2 MB wrote 16 instead of 19 KiB to the disk per message
  // and took compaction from 100 to 80 µs of CPU; docs/design.md, "Where a send's time goes").
  const db = await ctx.openDatabase({ cacheSize: 8 * 1024 * 1024, writeBufferSize: 4 * 1024 * 1024 });
  const storage = new RoomserverStorage(db);
  const events = new EventStore(storage);
  const nodes = new PendingNodeStore(db);
  const tree = new StateTree(nodes, { cacheSize: 1024 });
  const state = new RoomStateReader(tree, events);
  const rooms = new RoomCache(storage);
  ctx.onQuiet(() => {
    events.dropCached();
    tree.dropCached();
  });
  const producer = await ctx.openProducer(db, [outputRoomEvents]);
  const queue = new KeyedQueue();

  let nextNid = await storage.nextNid();
  let lastCreateTs = 0;
  const svc: RoomServices = {
    serverName: ctx.config.server_name,
    signingKey: () => ctx.signingKey(),
    events,
    state,
    rooms,
    producer,
    nodes,
    allocateNid: () => nextNid++,
    nextNidKey: (): WriteOp => put(keys.nextNid(), nextNid),
    now: Date.now,
    createTs: () => (lastCreateTs = Math.max(Date.now(), lastCreateTs + 1)),
  };
  const local = new LocalInput(svc, queue, storage);
  const remote = new RemoteInput(svc, queue, storage, ctx.apis.get(serverKeyApi));
  const queries = new RoomQueries(storage, events, state);

  const api: RoomserverAPI = {
    createRoom: async (req) => {
      const { room_id, commit } = await createRoom(svc, req);
      await commit;
      return { room_id };
    },
    sendEvent: (req) => local.sendEvent(req),
    performJoin: async (req) => {
      const room = await rooms.get(req.room_id);
      if (!room) throw new MatrixError(404, 'M_NOT_FOUND', `Unknown room ${req.room_id}: joining rooms on other servers arrives with federation`);
      return performJoin(
        {
          serverName: svc.serverName,
          currentState: (room_id, types) => queries.currentState({ room_id, ...(types ? { types } : {}) }),
          membershipIn: async (room_id, user_id) => (await queries.membership(room_id, user_id)).membership,
          send: (r) => local.sendEvent(r),
        },
        roomVersion(room.room_version)!,
        req.room_id,
        req.user_id,
        req.content,
      );
    },
    performForget: async (req) => {
      const { membership } = await queries.membership(req.room_id, req.user_id);
      if (membership === 'join' || membership === 'invite' || membership === 'knock') {
        throw new MatrixError(400, 'M_UNKNOWN', 'You can only forget a room you have left');
      }
      await db.put(keys.forgotten(req.user_id, req.room_id), true, { durable: true });
    },
    performUpgrade: (req) =>
      performUpgrade(
        {
          roomVersionOf: async (id) => (await rooms.get(id))?.room_version,
          latest: async (id) => (await storage.room(id))?.latest ?? [],
          currentState: (room_id) => queries.currentState({ room_id }),
          createRoom: api.createRoom,
          send: (r) => local.sendEvent(r),
        },
        req,
      ),
    inputEvents: async (req) => ({ results: await remote.input(req.events) }),
    queryRoom: (req) => queries.room(req.room_id),
    queryEvents: async (req) => ({ events: await queries.views(req.event_ids) }),
    queryCurrentState: async (req) => ({ events: await queries.currentState(req) }),
    queryStateAtEvent: async (req) => {
      const found = await queries.stateAtEvent(req.event_id, req.after ?? false, {
        ...(req.keys ? { keys: req.keys } : {}),
        ...(req.types ? { types: req.types } : {}),
      });
      return { events: found ?? [] };
    },
    queryMembership: (req) => queries.membership(req.room_id, req.user_id),
    queryRoomsForUser: async (req) => ({ rooms: await queries.roomsForUser(req.user_id, req.membership, req.include_forgotten ?? false) }),
    queryJoinedHosts: async (req) => ({ servers: await queries.joinedHosts(req.room_id) }),
    queryServerInRoom: async (req) => ({ joined: (await queries.joinedHosts(req.room_id)).includes(req.server_name) }),

    performCreateRoom: (req) => aliases.createRoom(req),
    setRoomAlias: (req) => aliases.set(req.alias, req.room_id, req.user_id, req.is_admin ?? false),
    queryRoomAlias: (req) => aliases.lookup(req.alias),
    removeRoomAlias: (req) => aliases.remove(req.alias, req.user_id, req.is_admin ?? false),
    queryRoomAliases: async (req) => ({ aliases: await aliases.forRoom(req.room_id) }),
    moveRoomAliases: (req) => aliases.move(req.from_room_id, req.to_room_id, req.user_id),
    setRoomVisibility: (req) => aliases.setVisibility(req.room_id, req.visibility, req.user_id, req.is_admin ?? false),
    queryRoomVisibility: async (req) => {
      const visibility = await aliases.visibility(req.room_id);
      return visibility ? { visibility } : null;
    },
    queryPublicRooms: async (req) => {
      const ids = await aliases.publishedRooms();
      const rooms = await Promise.all(ids.map(async (id) => summarise(id, await queries.currentState({ room_id: id, types: SUMMARY_TYPES }))));
      return page(rooms, req);
    },
    queryRoomPreview: async (req) => {
      const room = await rooms.get(req.room_id);
      if (!room) return null;
      return preview(req.room_id, room.room_version, await queries.currentState({ room_id: req.room_id, types: PREVIEW_TYPES }));
    },
  };
  const aliases = new RoomAliases({
    db,
    serverName: svc.serverName,
    roomVersionOf: async (id) => (await rooms.get(id))?.room_version,
    currentState: (room_id, types) => queries.currentState({ room_id, ...(types ? { types } : {}) }),
    joinedHosts: (id) => queries.joinedHosts(id),
    createRoom: api.createRoom,
    send: (r) => local.sendEvent(r),
  });
  ctx.apis.provide(roomserverApi, api);
  return {
    health: () => ({ next_nid: nextNid, cached_state_nodes: tree.cachedNodes }),
  };
}
