/**
 * Sends notifications to the users' HTTP pushers (client-server API "Push
 * notifications", push gateway API): each notification the push rules
 * produced, once it is committed, goes to every pusher of its user; a read
 * receipt that changes the user's unread count sends the new badge.
 *
 * One queue per user keeps a user's notifications in order. A gateway that
 * fails or cannot be reached is tried again with exponential backoff
 * (spec SHOULD) for about ten minutes, then that notification is given up;
 * a 4xx other than 429 is not retried. Pushkeys a gateway rejects lose
 * their pusher (spec MUST). The position each pusher was last sent is kept
 * (`pp` keys), so a restart resumes with what was not sent yet — the
 * gateway removes duplicates by event id — but nothing older than an hour:
 * a phone should not ring for what is long past.
 */
import type { Logger } from 'pino';
import type { Client } from '../../../platform/ipc/directory.js';
import type { Database } from '../../../platform/storage/database.js';
import { decodeKey } from '../../../platform/storage/keys.js';
import type { Pusher, UserAPI } from '../../userapi/api.js';
import type { EventStore } from '../events.js';
import { actionsOf, decodeNotification, notificationKey, userNotifications, type StoredNotification, type UserNotification } from '../notification-records.js';
import { keys, type StateEntry } from '../storage.js';
import { GatewayError, notifyGateway } from './client.js';
import { countsNotification, eventNotification, type NotifiedEvent } from './payload.js';

type Item = { kind: 'event'; roomId: string; pos: number } | { kind: 'badge' };

export interface DeliveryDeps {
  db: Database;
  events: EventStore;
  /** The user's unread notifications across their joined rooms (the badge). */
  unreadTotal: (userId: string) => Promise<number>;
  userapi: () => Client<UserAPI>;
  logger: Logger;
}

const MAX_ATTEMPTS = 12;
const MAX_BACKOFF_MS = 120_000;
const MAX_QUEUED = 200;
const RESUME_WINDOW_MS = 60 * 60 * 1000;
const RESUME_LIMIT = 50;

export class PushDelivery {
  /** Each user's pushers, as the UserAPI last gave them. */
  private readonly pushers = new Map<string, Pusher[]>();
  private readonly queues = new Map<string, Item[]>();
  private readonly running = new Set<string>();
  /** `${user}\0${app}\0${pushkey}` → position last sent. */
  private readonly sent = new Map<string, number>();
  /** How many pusher changes each user has had (a read that overlapped one is not kept). */
  private readonly changes = new Map<string, number>();
  /** The badge last sent to each user's pushers. */
  private readonly badges = new Map<string, number>();
  private readonly sleepers = new Set<() => void>();
  private stopped = false;

  constructor(private readonly deps: DeliveryDeps) {}

  /** A notification for the user committed at this position. */
  notified(userId: string, roomId: string, pos: number): void {
    if (this.pushers.get(userId)?.length === 0) return;
    this.enqueue(userId, { kind: 'event', roomId, pos });
  }

  /** The user's read receipt moved: the badge may have changed. */
  readChanged(userId: string): void {
    if (this.pushers.get(userId)?.length === 0) return;
    if (this.queues.get(userId)?.some((i) => i.kind === 'badge')) return;
    this.enqueue(userId, { kind: 'badge' });
  }

  /** The user's pushers changed (or their devices or account went): read them again when next needed. */
  pushersChanged(userId: string): void {
    this.pushers.delete(userId);
    this.changes.set(userId, (this.changes.get(userId) ?? 0) + 1);
  }

  /** At start: what each pusher was not sent yet, from the last hour. */
  async resume(): Promise<void> {
    const from = new Map<string, number>();
    for (const [k, pos] of await this.deps.db.entries<number>(keys.pushedRange())) {
      const [, userId, appId, pushkey] = decodeKey(k) as [string, string, string, string];
      this.sent.set(sentKey(userId, appId, pushkey), pos);
      from.set(userId, Math.min(from.get(userId) ?? Infinity, pos));
    }
    const since = Date.now() - RESUME_WINDOW_MS;
    for (const [userId, pos] of from) {
      const rows: UserNotification[] = [];
      for await (const n of userNotifications(this.deps.db, userId, { after: pos })) {
        rows.push(n);
        if (rows.length === RESUME_LIMIT) break;
      }
      // A notification's time is its event's: read in one go.
      const ids = await this.deps.db.getMany<string>(rows.map((n) => keys.timeline(n.roomId, n.pos)));
      const recs = await this.deps.events.getMany(ids.map((id) => id ?? ''));
      rows.forEach((n, i) => {
        const rec = recs[i];
        if (rec && rec.pdu.origin_server_ts >= since) this.enqueue(userId, { kind: 'event', roomId: n.roomId, pos: n.pos });
      });
    }
  }

  stop(): void {
    this.stopped = true;
    for (const wake of this.sleepers) wake();
  }

  private enqueue(userId: string, item: Item): void {
    if (this.stopped) return;
    let q = this.queues.get(userId);
    if (!q) this.queues.set(userId, (q = []));
    // A gateway that is away for long must not make the queue grow without end: the oldest go.
    if (q.length >= MAX_QUEUED) q.splice(0, q.length - MAX_QUEUED + 1);
    q.push(item);
    if (!this.running.has(userId)) void this.drain(userId);
  }

  private async drain(userId: string): Promise<void> {
    this.running.add(userId);
    const q = this.queues.get(userId)!;
    let attempts = 0;
    try {
      while (q.length > 0 && !this.stopped) {
        const item = q[0]!;
        try {
          await this.deliver(userId, item);
        } catch (e) {
          if (this.stopped) break;
          attempts++;
          const retry = !(e instanceof GatewayError) || e.retry;
          if (retry && attempts < MAX_ATTEMPTS) {
            await this.sleep(Math.min(1000 * 2 ** (attempts - 1), MAX_BACKOFF_MS));
            continue;
          }
          this.deps.logger.warn({ err: e, user_id: userId, item, attempts }, 'push notification given up');
        }
        if (q[0] === item) q.shift();
        attempts = 0;
      }
    } finally {
      this.running.delete(userId);
      if (q.length === 0) this.queues.delete(userId);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      // A backoff must not keep a stopping process alive.
      timer.unref();
      this.sleepers.add(wake);
    });
  }

  private async pushersOf(userId: string): Promise<Pusher[]> {
    const known = this.pushers.get(userId);
    if (known) return known;
    const seen = this.changes.get(userId);
    const { pushers } = await this.deps.userapi().queryPushers({ user_id: userId }, { timeoutMs: 5000 });
    const http = pushers.filter((p) => p.kind === 'http' && typeof p.data.url === 'string');
    // A change that arrived while this was asked may not be in the answer: use it, keep nothing.
    if (this.changes.get(userId) === seen) this.pushers.set(userId, http);
    return http;
  }

  private async deliver(userId: string, item: Item): Promise<void> {
    const pushers = await this.pushersOf(userId);
    if (pushers.length === 0) return;
    if (item.kind === 'badge') {
      const unread = await this.deps.unreadTotal(userId);
      if (this.badges.get(userId) === unread) return;
      for (const p of pushers) await this.post(userId, p, countsNotification(p, unread));
      this.badges.set(userId, unread);
      return;
    }
    const ev = await this.notifiedEvent(userId, item.roomId, item.pos);
    if (!ev) return;
    const unread = await this.deps.unreadTotal(userId);
    for (const p of pushers) {
      const key = sentKey(userId, p.app_id, p.pushkey);
      if ((this.sent.get(key) ?? 0) >= item.pos) continue;
      await this.post(userId, p, eventNotification(p, ev, userId, unread));
      this.sent.set(key, item.pos);
      await this.deps.db.put(keys.pushed(userId, p.app_id, p.pushkey), item.pos);
    }
    this.badges.set(userId, unread);
  }

  private async post(userId: string, pusher: Pusher, body: unknown): Promise<void> {
    const { rejected } = await notifyGateway(pusher.data.url as string, body);
    if (!rejected.includes(pusher.pushkey)) return;
    // The gateway says this pushkey is dead: the pusher goes (spec MUST).
    this.deps.logger.info({ user_id: userId, app_id: pusher.app_id }, 'push gateway rejected a pushkey; its pusher is removed');
    await this.deps.userapi().setPusher({ user_id: userId, device_id: '', pusher: { kind: null, app_id: pusher.app_id, pushkey: pusher.pushkey } });
    this.pushers.delete(userId);
  }

  /** The event a notification is about, with the names a phone shows; undefined once it is gone or redacted. */
  private async notifiedEvent(userId: string, roomId: string, pos: number): Promise<NotifiedEvent | undefined> {
    const [stored, eventId] = await this.deps.db.getMany<unknown>([notificationKey(userId, roomId, pos), keys.timeline(roomId, pos)]);
    if (stored === undefined || typeof eventId !== 'string') return undefined;
    const n = decodeNotification(stored as StoredNotification);
    const rec = await this.deps.events.get(eventId);
    if (!rec || rec.redacted_because) return undefined;
    const entries = await this.deps.db.getMany<StateEntry>([keys.state(rec.room_id, 'm.room.member', rec.pdu.sender), keys.state(rec.room_id, 'm.room.name', ''), keys.state(rec.room_id, 'm.room.canonical_alias', '')]);
    const [member, name, alias] = await this.deps.events.getMany(entries.map((e) => e?.event_id ?? ''));
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const senderName = str(member?.pdu.content.displayname);
    const roomName = str(name?.pdu.content.name);
    const roomAlias = str(alias?.pdu.content.alias);
    return {
      event_id: rec.event_id,
      room_id: rec.room_id,
      type: rec.pdu.type,
      sender: rec.pdu.sender,
      content: rec.pdu.content,
      ...(typeof rec.pdu.state_key === 'string' ? { state_key: rec.pdu.state_key } : {}),
      actions: await actionsOf(this.deps.db, userId, pos, n),
      ...(senderName !== undefined ? { sender_display_name: senderName } : {}),
      ...(roomName !== undefined ? { room_name: roomName } : {}),
      ...(roomAlias !== undefined ? { room_alias: roomAlias } : {}),
    };
  }
}

function sentKey(userId: string, appId: string, pushkey: string): string {
  return `${userId}\0${appId}\0${pushkey}`;
}
