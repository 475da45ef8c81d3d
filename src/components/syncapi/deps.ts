/**
 * What the SyncAPI's readers share: the database and the views over it.
 */
import type { Client } from '../../platform/ipc/directory.js';
import type { Database } from '../../platform/storage/database.js';
import type { RoomserverAPI } from '../roomserver/api.js';
import type { UserAPI } from '../userapi/api.js';
import type { CountSource } from './counts.js';
import type { EventStore } from './events.js';
import type { LazyMemberCache } from './lazy-members.js';
import type { Notifier } from './notifier.js';
import type { StreamPositions } from './positions.js';
import type { Relations } from './relations.js';
import type { SearchIndex } from './search-index.js';
import type { StateReader } from './state.js';
import type { TimelineReader } from './timeline.js';
import type { SyncViews } from './views.js';

/** The EDUServer's presence setter, once it exists (`set_presence` on /sync). */
export type PresenceSetter = (userId: string, presence: 'online' | 'unavailable' | 'offline') => Promise<void>;

export interface SyncDeps {
  serverName: string;
  db: Database;
  views: SyncViews;
  events: EventStore;
  state: StateReader;
  timeline: TimelineReader;
  relations: Relations;
  /** Word and timestamp indexes (POST /search, timestamp_to_event). */
  search: SearchIndex;
  stream: StreamPositions;
  notifier: Notifier;
  counts: CountSource;
  lazyMembers: LazyMemberCache;
  userapi: () => Client<UserAPI>;
  roomserver: () => Client<RoomserverAPI>;
  setPresence?: PresenceSetter | undefined;
  /** A device's one-time key counts and unused fallback key types (the KeyServer's), or undefined when unknown. */
  keyCounts?: ((userId: string, deviceId: string) => Promise<{ one_time_key_counts: Record<string, number>; unused_fallback_key_types: string[] } | undefined>) | undefined;
  /** Whether presence is served at all (a configuration switch: it costs on small boards). */
  presenceEnabled: boolean;
  /**
   * Waits (briefly, bounded) until the views hold every record the producer
   * had acknowledged on that topic: a client that sends (or sets its
   * presence) and then reads sees it. Absent in tests that feed the views
   * directly.
   */
  caughtUp?: (topic: 'room_events' | 'presence', timeoutMs: number) => Promise<void>;
}
