/**
 * Push rules as the client-server API defines them ("Push Rules"), and
 * what evaluating them for one recipient needs to know about the room.
 * The UserAPI's rules are these types, so its `queryPushRules` answer is
 * passed as it is.
 */

export type PushRuleKind = 'override' | 'content' | 'room' | 'sender' | 'underride';

/** The order in which kinds are checked. */
export const PUSH_RULE_KINDS: readonly PushRuleKind[] = ['override', 'content', 'room', 'sender', 'underride'];

export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: unknown[];
  conditions?: unknown[];
  pattern?: string;
}

/** A user's rules of each kind, in priority order (the master rule first among overrides). */
export type PushRuleset = Partial<Record<PushRuleKind, PushRule[]>>;

/** An event as rules see it: any JSON object with these fields (a PDU or the client format). */
export interface PushEvent {
  type: string;
  sender: string;
  content: Record<string, unknown>;
  room_id?: string;
  state_key?: string;
  [key: string]: unknown;
}

/** What the conditions that are about the room and the recipient need. */
export interface PushContext {
  /** The recipient, whose rules these are. */
  user_id: string;
  /** The event's room; when absent, `event.room_id`. */
  room_id?: string;
  /** Joined members now (`room_member_count`). */
  member_count: number;
  /** The recipient's display name in the room (`contains_display_name`). */
  display_name?: string;
  /**
   * Power in the room (`sender_notification_permission`): core/auth's
   * `roomPowers(create, powerLevels, version)` fits. Absent: the condition
   * never holds.
   */
  powers?: { userLevel(userId: string): number; notificationLevel(key: string): number | undefined };
}

export type PushAction = 'notify' | { set_tweak: string; value?: unknown };

export interface PushEvaluation {
  /** The event counts as a notification for the recipient. */
  notify: boolean;
  /** …and as a highlight (a notification with the highlight tweak). */
  highlight: boolean;
  /** The matching rule's actions, historical ones dropped; empty when nothing matched. */
  actions: PushAction[];
  /** The tweaks those actions set (highlight defaults to true when given without a value). */
  tweaks: Record<string, unknown>;
  /** `kind/rule_id` of the rule that matched, if any. */
  rule?: string;
}
