/**
 * Account data, global and per room. Every change is written with its
 * record in the account_data log, from which the SyncAPI tells the user's
 * clients. `m.push_rules` is the user's push rules, which the server
 * manages (push-rules/store.ts); `m.fully_read` is set through read markers.
 */
import { MatrixError } from '../../core/errors.js';
import { isValidRoomId } from '../../core/identifiers.js';
import type { UserServices } from './services.js';
import { keys, put } from './storage.js';
import { accountDataChanges } from './topics.js';

/** Types a client may read but not set here (spec: 405 M_BAD_JSON). */
export const SERVER_MANAGED_TYPES = new Set(['m.fully_read', 'm.push_rules']);
const MAX_TYPE_LENGTH = 255;

export class AccountData {
  constructor(
    private readonly svc: UserServices,
    /** Content the server computes for a type it manages, when it has some. */
    private readonly managed: (userId: string, roomId: string, type: string) => Promise<Record<string, unknown> | undefined>,
  ) {}

  private check(roomId: string | undefined, type: string): void {
    if (roomId !== undefined && !isValidRoomId(roomId)) throw new MatrixError(400, 'M_INVALID_PARAM', `${roomId} is not a valid room id`);
    if (type === '' || type.length > MAX_TYPE_LENGTH) throw new MatrixError(400, 'M_INVALID_PARAM', `An account data type is 1 to ${MAX_TYPE_LENGTH} characters`);
  }

  async set(userId: string, roomId: string | undefined, type: string, content: Record<string, unknown>, readMarker = false): Promise<void> {
    this.check(roomId, type);
    const byReadMarkers = readMarker && type === 'm.fully_read' && roomId !== undefined;
    if (SERVER_MANAGED_TYPES.has(type) && !byReadMarkers) throw new MatrixError(405, 'M_BAD_JSON', `${type} is managed by the server and cannot be set through this API`);
    await this.svc.producer.write(
      [put(keys.accountData(userId, roomId ?? '', type), content)],
      [{ topic: accountDataChanges, record: { user_id: userId, ...(roomId !== undefined ? { room_id: roomId } : {}), type, content } }],
      { durable: true },
    );
  }

  async get(userId: string, roomId: string | undefined, type: string): Promise<Record<string, unknown> | null> {
    this.check(roomId, type);
    const managed = await this.managed(userId, roomId ?? '', type);
    if (managed) return managed;
    return (await this.svc.storage.accountData(userId, roomId ?? '', type)) ?? null;
  }

  async all(userId: string): Promise<{ global: { type: string; content: Record<string, unknown> }[]; rooms: Record<string, { type: string; content: Record<string, unknown> }[]> }> {
    const global: { type: string; content: Record<string, unknown> }[] = [];
    const rooms: Record<string, { type: string; content: Record<string, unknown> }[]> = {};
    for (const { room_id, type, content } of await this.svc.storage.allAccountData(userId)) {
      if (room_id === '') global.push({ type, content });
      else (rooms[room_id] ??= []).push({ type, content });
    }
    if (!global.some((g) => g.type === 'm.push_rules')) {
      const rules = await this.managed(userId, '', 'm.push_rules');
      if (rules) global.push({ type: 'm.push_rules', content: rules });
    }
    return { global, rooms };
  }
}
