/** Shapes shared by the auth rule modules. */
import type { PDU } from '../events/pdu.js';

/** The room state an event is checked against (its auth events, the state before it, or current state). */
export interface AuthState {
  get(type: string, stateKey: string): PDU | undefined;
}

/** What the rules need from outside: event ids and signatures checked with server keys. */
export interface AuthHooks {
  /**
   * True when `event` carries a valid signature from `serverName` (used for
   * `join_authorised_via_users_server`, rooms v8+). Without this hook the
   * rules only require that such a signature is present, trusting the
   * caller to have verified signatures on receipt.
   */
  isSignedBy?(event: PDU, serverName: string): boolean;
  /**
   * The id of an event. Needed for the create event (first join, and the v12
   * room id rule) and for v1/v2 redactions; defaults to the PDU's own
   * `event_id` field, which only v1/v2 events carry.
   */
  eventIdOf?(event: PDU): string | undefined;
}

export type AuthResult = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

export const ALLOW: AuthResult = Object.freeze({ allowed: true });

export function deny(reason: string): AuthResult {
  return { allowed: false, reason };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function eventIdOf(event: PDU, hooks: AuthHooks): string | undefined {
  const id = hooks.eventIdOf ? hooks.eventIdOf(event) : undefined;
  if (id !== undefined) return id;
  return typeof event.event_id === 'string' ? event.event_id : undefined;
}

/** A user's membership in `state`, or undefined when they have none. */
export function membershipOf(state: AuthState, userId: string): string | undefined {
  const m = state.get('m.room.member', userId)?.content?.membership;
  return typeof m === 'string' ? m : undefined;
}

/** prev_events / auth_events ids; tolerates both wire shapes and a missing field. */
export function referencedIds(refs: unknown): string[] {
  if (!Array.isArray(refs)) return [];
  const out: string[] = [];
  for (const r of refs) {
    if (typeof r === 'string') out.push(r);
    else if (Array.isArray(r) && typeof r[0] === 'string') out.push(r[0]);
  }
  return out;
}

/** An AuthState over a plain list of events (e.g. an event's auth events). */
export function authStateFromEvents(events: Iterable<PDU>): AuthState {
  const byKey = new Map<string, PDU>();
  for (const e of events) {
    if (typeof e.state_key === 'string') byKey.set(JSON.stringify([e.type, e.state_key]), e);
  }
  return { get: (type, stateKey) => byKey.get(JSON.stringify([type, stateKey])) };
}
