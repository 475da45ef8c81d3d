/**
 * EDUServer: typing notifications, receipts and read markers, presence and
 * send-to-device messages of local users. State lives in its own database;
 * every change is also a record of one of its topics (topics.ts), written in
 * the same batch, from which the SyncAPI (and later the FederationSender)
 * learn about it.
 */
import { MatrixError } from '../../core/errors.js';
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { roomserverApi } from '../roomserver/api.js';
import { outputRoomEvents, roomEventKind, type OutputRoomEvent } from '../roomserver/topics.js';
import { userApi } from '../userapi/api.js';
import { eduServerApi, type EduServerAPI } from './api.js';
import { setFullyRead } from './fully-read.js';
import { stopTypingOnLeave } from './leaves.js';
import { requireJoined } from './membership.js';
import { Presence } from './presence.js';
import { Receipts, type CheckedReceipt } from './receipts.js';
import { ToDevice } from './to-device.js';
import { DEFAULT_TYPING_TIMEOUT_MS, Typing } from './typing.js';
import { presenceEvents, receiptEvents, sendToDeviceEvents, typingEvents } from './topics.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const db = await ctx.openDatabase();
  const producer = await ctx.openProducer(db, [typingEvents, receiptEvents, presenceEvents, sendToDeviceEvents]);
  const roomserver = ctx.apis.get(roomserverApi);
  const userapi = ctx.apis.get(userApi);
  const now = Date.now;
  const presenceOn = ctx.config.presence;

  const typing = new Typing(db, producer, now, ctx.logger);
  const receipts = new Receipts(db, producer, roomserver, now);
  const presence = new Presence(db, producer, now, undefined, ctx.logger);
  const toDevice = new ToDevice(db, producer, userapi, ctx.config.server_name, now, ctx.logger);
  ctx.onStop(() => {
    typing.stop();
    presence.stop();
    toDevice.stop();
  });
  await typing.load();
  if (presenceOn) await presence.load();
  toDevice.startPruning();

  /** Typing, receipts and sending events are pro-active actions: they keep the user online (spec, "Idle timeout"). */
  const acted = (userId: string) => (presenceOn ? presence.active(userId) : Promise.resolve());

  const api: EduServerAPI = {
    setTyping: async (req) => {
      await requireJoined(roomserver, req.room_id, req.user_id);
      await typing.set(req.room_id, req.user_id, req.typing, req.timeout_ms ?? DEFAULT_TYPING_TIMEOUT_MS);
      if (req.typing) await acted(req.user_id);
    },
    queryTyping: async (req) => ({ user_ids: typing.typingIn(req.room_id) }),

    sendReceipt: async (req) => {
      await requireJoined(roomserver, req.room_id, req.user_id);
      await receipts.write([await receipts.check(req.room_id, req.user_id, req.receipt_type, req.event_id, req.thread_id)]);
      await acted(req.user_id);
    },
    setReadMarkers: async (req) => {
      await requireJoined(roomserver, req.room_id, req.user_id);
      // Everything is checked before anything changes.
      const checked: CheckedReceipt[] = [];
      if (req.read !== undefined) checked.push(await receipts.check(req.room_id, req.user_id, 'm.read', req.read, undefined));
      if (req.read_private !== undefined) checked.push(await receipts.check(req.room_id, req.user_id, 'm.read.private', req.read_private, undefined));
      const fullyRead = req.fully_read !== undefined ? await receipts.eventInRoom(req.room_id, req.fully_read) : undefined;
      await receipts.write(checked);
      if (fullyRead) await setFullyRead(userapi, roomserver, req.user_id, fullyRead);
      await acted(req.user_id);
    },
    queryReceipts: async (req) => ({ receipts: await receipts.query(req.room_id, req.viewer, req.user_ids) }),

    setPresence: async (req) => {
      if (!presenceOn) return;
      if (req.source === 'client') await presence.setByClient(req.user_id, req.presence, req.status_msg ?? null);
      else await presence.setBySync(req.user_id, req.presence);
    },
    markActive: (req) => acted(req.user_id),
    queryPresence: async (req) => (presenceOn ? { enabled: true, presence: req.user_ids.map((u) => presence.view(u)) } : { enabled: false, presence: [] }),

    sendToDevice: async (req) => {
      if (req.type === '') throw new MatrixError(400, 'M_INVALID_PARAM', 'The event type must not be empty');
      await toDevice.send(req);
    },
  };
  ctx.apis.provide(eduServerApi, api);

  await ctx.startConsumer<OutputRoomEvent>({
    topic: outputRoomEvents,
    name: 'eduserver',
    db,
    // Typing ends within a second of a leave. Reading each event as it comes cost a send about 0.6 ms of CPU
    // (a read and a commit per event); in batches a second apart, next to nothing. Only membership events:
    // the roomserver passes over the rest rather than sending every message here.
    pauseMs: 1000,
    batchSize: 500,
    kinds: [roomEventKind('m.room.member')],
    handle: async (batch) => {
      await stopTypingOnLeave(typing, batch);
      return [];
    },
  });
  return {
    health: () => ({ presence: presenceOn }),
  };
}
