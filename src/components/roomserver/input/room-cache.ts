/**
 * Room records by id, kept in memory once read: a small board hosts
 * hundreds of rooms, not millions, and every event of a room reads its
 * record. Updated when a draft commits, before the batch is on disk.
 */
import type { RoomserverStorage, StoredRoom } from '../storage.js';

export class RoomCache {
  private readonly rooms = new Map<string, StoredRoom>();

  constructor(private readonly storage: RoomserverStorage) {}

  async get(roomId: string): Promise<StoredRoom | undefined> {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = await this.storage.room(roomId);
      if (room) this.rooms.set(roomId, room);
    }
    return room;
  }

  set(room: StoredRoom): void {
    this.rooms.set(room.room_id, room);
  }
}
