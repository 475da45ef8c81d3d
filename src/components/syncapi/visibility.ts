/**
 * History visibility (client-server API "Room History Visibility", server
 * behaviour), decided from in-memory histories: the room's visibility
 * changes and the user's membership changes, both by stream position. An
 * event at position p sees the state before p; a visibility event counts
 * with the visibility before or after it, the user's own membership event
 * with their membership before or after it.
 */

export type Visibility = 'world_readable' | 'shared' | 'invited' | 'joined';

export interface Point {
  pos: number;
}

export interface VisibilityPoint extends Point {
  vis: Visibility;
}

export interface MembershipPoint extends Point {
  membership: string;
  event_id: string;
}

/** Unset or not understood means `shared`. */
export function visibilityOf(content: Record<string, unknown> | undefined): Visibility {
  const v = content?.history_visibility;
  return v === 'world_readable' || v === 'invited' || v === 'joined' ? v : 'shared';
}

/** Index of the last point with pos < p (or ≤ p with `inclusive`), -1 when none. Points are ascending. */
export function lastBefore<T extends Point>(points: readonly T[], p: number, inclusive = false): number {
  let lo = 0;
  let hi = points.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const q = points[mid]!.pos;
    if (q < p || (inclusive && q === p)) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The entry in force at position p (inclusive: the change at p itself counts). */
export function at<T extends Point>(points: readonly T[] | undefined, p: number): T | undefined {
  if (!points) return undefined;
  const i = lastBefore(points, p, true);
  return i >= 0 ? points[i] : undefined;
}

function allowedBy(vis: Visibility, membership: string | undefined, joinedLater: boolean): boolean {
  if (vis === 'world_readable') return true;
  if (membership === 'join') return true;
  if (vis === 'shared' && joinedLater) return true;
  return vis === 'invited' && membership === 'invite';
}

export interface EventAt {
  pos: number;
  /** The event changes the room's history visibility. */
  isVisibilityEvent: boolean;
  /** The event is this user's own membership event. */
  isOwnMembership: boolean;
}

/**
 * Whether a user may see an event at a position. `upTo` bounds "joined at
 * any point after the event": joins after it do not count (a token's view).
 */
export function canSee(ev: EventAt, hv: readonly VisibilityPoint[], memberships: readonly MembershipPoint[] | undefined, upTo = Infinity): boolean {
  const hi = lastBefore(hv, ev.pos);
  const visBefore = hi >= 0 ? hv[hi]!.vis : 'shared';
  const mi = memberships ? lastBefore(memberships, ev.pos) : -1;
  const memBefore = mi >= 0 ? memberships![mi]!.membership : undefined;
  const cases: [Visibility, string | undefined][] = [[visBefore, memBefore]];
  if (ev.isVisibilityEvent) {
    const after = hv[hi + 1];
    if (after && after.pos === ev.pos) cases.push([after.vis, memBefore]);
  }
  if (ev.isOwnMembership && memberships) {
    const after = memberships[mi + 1];
    if (after && after.pos === ev.pos) cases.push([visBefore, after.membership]);
  }
  if (cases.some(([v, m]) => allowedBy(v, m, false))) return true;
  if (!cases.some(([v]) => v === 'shared') || !memberships) return false;
  // Joined at some point after the event (and not after the view's end).
  let joinedLater = false;
  for (let i = mi + 1; i < memberships.length; i++) {
    const m = memberships[i]!;
    if (m.pos > upTo) break;
    if (m.pos > ev.pos || (m.pos === ev.pos && ev.isOwnMembership)) {
      if (m.membership === 'join') {
        joinedLater = true;
        break;
      }
    }
  }
  return joinedLater && cases.some(([v, m]) => allowedBy(v, m, true));
}
