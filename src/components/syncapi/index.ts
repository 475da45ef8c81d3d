/**
 * SyncAPI: what clients read of their rooms. It consumes the Roomserver's
 * output log, the UserAPI's account data and device changes (and the
 * EDUServer's topics), keeps its own views in its own database under one
 * stream position, and serves /sync, the history endpoints and the
 * deprecated event streams from them.
 */
import { tokenAuth } from '../../platform/http/auth.js';
import { tokenCheckFor } from '../../platform/http/token-cache.js';
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { outputRoomEvents, type OutputRoomEvent } from '../roomserver/topics.js';
import { roomserverApi } from '../roomserver/api.js';
import { userApi } from '../userapi/api.js';
import { accountDataChanges, deviceChanges, userChanges, type AccountDataChange, type DeviceChange, type UserChange } from '../userapi/topics.js';
import type { SyncDeps } from './deps.js';
import { EventStore } from './events.js';
import { eduServerApi } from '../eduserver/api.js';
import {
  presenceEvents,
  receiptEvents,
  sendToDeviceEvents,
  typingEvents,
  type PresenceRecord,
  type ReceiptRecord,
  type SendToDeviceRecord,
  type TypingRecord,
} from '../eduserver/topics.js';
import { applyPresence, applyReceipts, applyToDevice, applyTyping } from './ingest/edu.js';
import { RoomEventIngest } from './ingest/room-events.js';
import { PushCounter } from './push.js';
import { startSyncConsumer, type ConsumerDeps } from './ingest/tx.js';
import { applyAccountData, applyDeviceChanges, applyKeyChanges, applyUserChanges } from './ingest/user-data.js';
import { keyServerApi } from '../keyserver/api.js';
import { keyChanges, type KeyChange } from '../keyserver/topics.js';
import { LazyMemberCache } from './lazy-members.js';
import { Notifier } from './notifier.js';
import { StreamPositions } from './positions.js';
import { Relations } from './relations.js';
import { SearchIndex } from './search-index.js';
import { syncApiRoutes } from './routes/index.js';
import { accessFor, bundleFor, seenWhole } from './access.js';
import { syncApi } from './api.js';
import { keys } from './storage.js';
import { parseToken } from './tokens.js';
import { StateReader } from './state.js';
import { PresenceRelay } from './presence-relay.js';
import { PushDelivery } from './pushgateway/delivery.js';
import { TimelineReader } from './timeline.js';
import { SyncViews } from './views.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  // A larger memtable than the platform default: every LevelDB table it flushes overlaps
  // all of level 1 (event ids are random, notifications span all users), so each flush
  // rewrote much of that level. With 16 senders into a room of 16, 4 MB instead of 1 MB
  // took compaction from 150–165 to 95–100 µs of CPU per message and the disk writes
  // from 24 to 18.5 KiB per message (docs/design.md, "Where a send's time goes").
  // A smaller block cache: the hot reads come from the views and the event cache below,
  // and a full 2 MB cache was most of what LevelDB held after a load (design.md, "Memory").
  const db = await ctx.openDatabase({ writeBufferSize: 4 * 1024 * 1024, cacheSize: 512 * 1024 });
  const stream = await StreamPositions.open(db);
  const notifier = new Notifier();
  stream.onAdvance = (from, to) => notifier.advance(from, to);
  const views = await SyncViews.load(db, ctx.config.server_name, stream.current);
  const events = new EventStore(db);
  const relations = new Relations(db, events);
  await relations.load();
  const search = new SearchIndex(db);
  await search.open();
  const userapi = () => ctx.apis.get(userApi);
  const push = new PushCounter(db, views, events, userapi);
  ctx.onQuiet(() => {
    events.dropCached();
    push.dropCached();
  });
  const edu = () => ctx.apis.get(eduServerApi);

  const presenceRelay = new PresenceRelay((user_id, presence) => edu().setPresence({ user_id, presence, source: 'sync' }, { timeoutMs: 5000 }));
  const deps: SyncDeps = {
    serverName: ctx.config.server_name,
    db,
    views,
    events,
    state: new StateReader(db),
    timeline: new TimelineReader(db, events),
    relations,
    search,
    stream,
    notifier,
    counts: push,
    lazyMembers: new LazyMemberCache(),
    // Looked up per call: a process without the other component (tests) must still start.
    userapi,
    roomserver: () => ctx.apis.get(roomserverApi),
    keyCounts: async (user_id, device_id) => ctx.apis.get(keyServerApi).queryKeyCounts({ user_id, device_id }, { timeoutMs: 2000 }),
    setPresence: presenceRelay.relay,
    presenceEnabled: ctx.config.presence,
  };

  // Stopping: consumers stop first (registered after the database), then
  // long-polls answer, then the clean-stop mark, then the database closes.
  ctx.onStop(async () => {
    await StreamPositions.closeClean(db);
  });
  ctx.onStop(() => notifier.stop());
  ctx.onStop(() => search.stop());

  // Notifications go to the users' push gateways once committed; a restart resumes what was not sent.
  const pushing = new PushDelivery({ db, events, unreadTotal: (userId) => push.unreadTotal(userId), userapi, logger: ctx.logger });
  push.onNotified = (userId, roomId, pos) => pushing.notified(userId, roomId, pos);
  const pushersChanged = (userId: string) => pushing.pushersChanged(userId);
  ctx.onStop(() => pushing.stop());

  const consumers: ConsumerDeps = { ctx, db, stream, notifier };
  const rooms = new RoomEventIngest({ serverName: deps.serverName, views, events, relations, push, roomserver: deps.roomserver });
  const roomEvents = await startSyncConsumer<OutputRoomEvent>(consumers, 'roomserver.output_room_events', outputRoomEvents, (batch, tx) => rooms.apply(batch, tx));
  await startSyncConsumer<AccountDataChange>(consumers, 'userapi.account_data', accountDataChanges, (batch, tx) =>
    applyAccountData(views, batch, tx, (userId) => push.rulesChanged(userId)),
  );
  await startSyncConsumer<DeviceChange>(consumers, 'userapi.device_changes', deviceChanges, (batch, tx) => applyDeviceChanges(db, views, batch, tx, pushersChanged));
  await startSyncConsumer<UserChange>(consumers, 'userapi.user_changes', userChanges, async (batch, tx) => applyUserChanges(views, batch, tx, pushersChanged));
  await startSyncConsumer<KeyChange>(consumers, 'keyserver.key_changes', keyChanges, (batch, tx) => applyKeyChanges(views, batch, tx));
  await startSyncConsumer<TypingRecord>(consumers, 'eduserver.typing', typingEvents, (batch, tx) => applyTyping(views, batch, tx));
  await startSyncConsumer<ReceiptRecord>(consumers, 'eduserver.receipts', receiptEvents, (batch, tx) =>
    applyReceipts(views, events, batch, tx, (userId, roomId, thread, eventPos) => {
      push.receiptMoved(userId, roomId, thread, eventPos);
      pushing.readChanged(userId);
    }),
  );
  const presence = await startSyncConsumer<PresenceRecord>(consumers, 'eduserver.presence', presenceEvents, (batch, tx) =>
    applyPresence(views, batch, tx, (userId) => presenceRelay.changed(userId)),
  );
  const fenced = { room_events: roomEvents, presence };
  deps.caughtUp = async (topic, timeoutMs) => {
    await fenced[topic].caughtUp(timeoutMs);
  };
  await startSyncConsumer<SendToDeviceRecord>(consumers, 'eduserver.send_to_device', sendToDeviceEvents, (batch, tx) => applyToDevice(views, deps.serverName, batch, tx));

  ctx.apis.provide(syncApi, {
    queryEventAtToken: async (req) => {
      const pos = parseToken(req.token);
      if (pos === undefined) return { valid: false, event_id: null };
      const room = views.room(req.room_id);
      if (!room) return { valid: true, event_id: null };
      const [row] = await db.entries<string>({ gt: keys.timeline(room.id, 0), lte: keys.timeline(room.id, Math.min(pos, stream.current)), reverse: true, limit: 1 });
      return { valid: true, event_id: row ? row[1] : null };
    },
    queryBundledRelations: async (req) => {
      const rec = await events.get(req.event_id);
      const room = rec && views.room(rec.room_id);
      if (!rec || !room) return { relations: null };
      const a = accessFor(deps, room, req.user_id);
      if (!seenWhole(a, rec)) return { relations: null };
      const fmt = { viewer: { user_id: req.user_id, device_id: req.device_id }, now: Date.now(), withRoomId: true };
      return { relations: (await bundleFor(deps, a, rec, fmt)) ?? null };
    },
  });

  await pushing.resume();

  // A database from before the search indexes: indexed in the background (readers walk timelines meanwhile).
  search.startRebuild((err) => ctx.logger.error({ err }, 'search index rebuild failed'));

  const auth = tokenAuth(tokenCheckFor(ctx, (req) => ctx.apis.get(userApi).queryAccessToken(req)));
  return {
    routes: syncApiRoutes(deps, auth, (userId, roomId) => push.readPositions(userId, roomId)),
    health: () => ({ position: stream.current, allocated: stream.lastAllocated, rooms: views.rooms.size, waiting: notifier.waiting }),
  };
}
