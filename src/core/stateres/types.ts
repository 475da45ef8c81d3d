/** Inputs shared by the state resolution algorithms. */
import type { AuthHooks } from '../auth/types.js';
import type { EventLookup } from './event-graph.js';

export interface ResolveOptions {
  /** Synchronous lookup of any event a state set or an auth chain names; unknown events are left out. */
  readonly getEvent: EventLookup;
  /**
   * v2/v2.1: the full auth chain of each state set (the union of the auth
   * chains of its events), index-aligned with the state sets. Computed from
   * auth_events when absent.
   */
  readonly authChainSets?: ReadonlyArray<ReadonlySet<string>>;
  /** Events rejected on receipt: never used as auth events during the iterative auth checks. */
  readonly isRejected?: (eventId: string) => boolean;
  /** Signature check for join_authorised_via_users_server (see AuthHooks.isSignedBy). */
  readonly isSignedBy?: AuthHooks['isSignedBy'];
}
