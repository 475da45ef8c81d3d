/**
 * The iterative auth checks of state resolution v2: apply each state event
 * whose auth passes against the state built so far, filling keys the state
 * lacks from the event's own (non-rejected) auth events.
 */
import { checkAuth } from '../auth/rules.js';
import type { AuthHooks, AuthState } from '../auth/types.js';
import type { PDU } from '../events/pdu.js';
import type { RoomVersion } from '../room-versions.js';
import type { EventGraph } from './event-graph.js';
import { stateKey } from './state-map.js';

export interface AuthCheckContext {
  readonly graph: EventGraph;
  readonly version: RoomVersion;
  readonly isRejected?: (eventId: string) => boolean;
  readonly isSignedBy?: AuthHooks['isSignedBy'];
}

/** The state an event is checked against: `state`, else its auth events, else (v12) the create event its room id names. */
function stateForEvent(eventId: string, event: PDU, state: ReadonlyMap<string, string>, ctx: AuthCheckContext): AuthState {
  const { graph } = ctx;
  let fromAuthEvents: Map<string, PDU> | undefined;
  const authEvents = (): Map<string, PDU> => {
    if (!fromAuthEvents) {
      fromAuthEvents = new Map();
      for (const id of graph.authIds(eventId)) {
        const e = graph.get(id);
        if (e && typeof e.state_key === 'string' && !ctx.isRejected?.(id)) fromAuthEvents.set(stateKey(e.type, e.state_key), e);
      }
    }
    return fromAuthEvents;
  };
  return {
    get(type, sk) {
      const key = stateKey(type, sk);
      const id = state.get(key);
      const current = id === undefined ? undefined : graph.get(id);
      if (current) return current;
      const cited = authEvents().get(key);
      if (cited) return cited;
      if (ctx.version.roomIdIsCreateEventHash && type === 'm.room.create' && sk === '') return graph.createEventOfRoom(event.room_id);
      return undefined;
    },
  };
}

/** Applies `ordered` to `state` in place and returns it. */
export function iterativeAuthChecks(ordered: readonly string[], state: Map<string, string>, ctx: AuthCheckContext): Map<string, string> {
  const hooks: AuthHooks = {
    eventIdOf: (e) => ctx.graph.idOf(e),
    ...(ctx.isSignedBy ? { isSignedBy: ctx.isSignedBy } : {}),
  };
  for (const id of ordered) {
    const event = ctx.graph.get(id);
    if (!event || typeof event.state_key !== 'string') continue;
    const result = checkAuth(event, stateForEvent(id, event, state, ctx), ctx.version, hooks);
    if (result.allowed) state.set(stateKey(event.type, event.state_key), id);
  }
  return state;
}
