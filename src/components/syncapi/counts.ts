/**
 * Unread notification counts of a user in a room, for /sync. The counts
 * come from evaluating push rules on each event for each recipient (the
 * push evaluator); until that exists every count is zero, and this is the
 * one place that changes when it lands.
 */
export interface NotificationCounts {
  notification_count: number;
  highlight_count: number;
}

export interface RoomCounts {
  /** Main timeline (or the whole room without per-thread counts). */
  room: NotificationCounts;
  /** Per thread root, when per-thread counts were asked for; threads without notifications are left out. */
  threads: Record<string, NotificationCounts>;
}

export interface CountSource {
  counts(userId: string, roomId: string, upTo: number, perThread: boolean): Promise<RoomCounts>;
}

export const zeroCounts: CountSource = {
  counts: async () => ({ room: { notification_count: 0, highlight_count: 0 }, threads: {} }),
};
