/**
 * Which membership events each device already has (lazy-loading members):
 * a member event need not be sent again while it is unchanged. An entry
 * counts only once the client acknowledged the response that carried it
 * (its `since` is at or past that response's `next_batch`), so a response
 * the client never received does not hide a member from it. Kept in
 * memory only: after a restart members are sent again, which is allowed.
 */
const MAX_DEVICES = 1000;
const MAX_PER_ROOM = 5000;

type RoomMembers = Map<string, { event_id: string; sent_in: number }>;

export class LazyMemberCache {
  private readonly devices = new Map<string, Map<string, RoomMembers>>();

  private device(key: string, create: boolean): Map<string, RoomMembers> | undefined {
    let d = this.devices.get(key);
    if (d) {
      // Most recently used last.
      this.devices.delete(key);
      this.devices.set(key, d);
    } else if (create) {
      this.devices.set(key, (d = new Map()));
      if (this.devices.size > MAX_DEVICES) this.devices.delete(this.devices.keys().next().value!);
    }
    return d;
  }

  /** An initial sync starts the device afresh. */
  reset(deviceKey: string): void {
    this.devices.delete(deviceKey);
  }

  known(deviceKey: string, roomId: string, userId: string, eventId: string, since: number | undefined): boolean {
    if (since === undefined) return false;
    const e = this.device(deviceKey, false)?.get(roomId)?.get(userId);
    return e !== undefined && e.event_id === eventId && e.sent_in <= since;
  }

  record(deviceKey: string, roomId: string, userId: string, eventId: string, sentIn: number): void {
    const d = this.device(deviceKey, true)!;
    let r = d.get(roomId);
    if (!r) d.set(roomId, (r = new Map()));
    const prev = r.get(userId);
    // Keep the earliest response that carried this same event: the client has it once it acknowledged that one.
    if (prev && prev.event_id === eventId && prev.sent_in <= sentIn) return;
    r.set(userId, { event_id: eventId, sent_in: sentIn });
    if (r.size > MAX_PER_ROOM) r.delete(r.keys().next().value!);
  }
}
