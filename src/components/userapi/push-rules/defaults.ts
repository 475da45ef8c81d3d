/**
 * The server-default push rules of the spec (client-server API, "Push
 * Notifications", "Predefined Rules", v1.19: the legacy body-matching rules
 * are gone since v1.17). `.m.rule.master` is listed apart because it ranks
 * above every user rule; the other defaults rank below the user's rules of
 * their kind.
 */
import type { PushRule } from '../api.js';

type DefaultRule = Omit<PushRule, 'default' | 'enabled'> & { enabled?: boolean };

const typeIs = (pattern: string) => ({ kind: 'event_match', key: 'type', pattern });
const emptyStateKey = { kind: 'event_match', key: 'state_key', pattern: '' };
const sound = (value: string) => ({ set_tweak: 'sound', value });
const highlight = { set_tweak: 'highlight' };

export const MASTER_RULE: DefaultRule = { rule_id: '.m.rule.master', enabled: false, conditions: [], actions: [] };

/** Override rules after the user's own, in priority order. */
export function defaultOverrideRules(userId: string): DefaultRule[] {
  return [
    { rule_id: '.m.rule.suppress_notices', conditions: [{ kind: 'event_match', key: 'content.msgtype', pattern: 'm.notice' }], actions: [] },
    {
      rule_id: '.m.rule.invite_for_me',
      conditions: [typeIs('m.room.member'), { kind: 'event_match', key: 'content.membership', pattern: 'invite' }, { kind: 'event_match', key: 'state_key', pattern: userId }],
      actions: ['notify', sound('default')],
    },
    { rule_id: '.m.rule.member_event', conditions: [typeIs('m.room.member')], actions: [] },
    {
      rule_id: '.m.rule.is_user_mention',
      conditions: [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }],
      actions: ['notify', sound('default'), highlight],
    },
    {
      rule_id: '.m.rule.is_room_mention',
      conditions: [
        { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
        { kind: 'sender_notification_permission', key: 'room' },
      ],
      actions: ['notify', highlight],
    },
    { rule_id: '.m.rule.tombstone', conditions: [typeIs('m.room.tombstone'), emptyStateKey], actions: ['notify', highlight] },
    { rule_id: '.m.rule.reaction', conditions: [typeIs('m.reaction')], actions: [] },
    { rule_id: '.m.rule.room.server_acl', conditions: [typeIs('m.room.server_acl'), emptyStateKey], actions: [] },
    { rule_id: '.m.rule.suppress_edits', conditions: [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }], actions: [] },
  ];
}

/** Underride rules after the user's own, in priority order. */
export function defaultUnderrideRules(): DefaultRule[] {
  return [
    { rule_id: '.m.rule.call', conditions: [typeIs('m.call.invite')], actions: ['notify', sound('ring')] },
    {
      rule_id: '.m.rule.encrypted_room_one_to_one',
      conditions: [{ kind: 'room_member_count', is: '2' }, typeIs('m.room.encrypted')],
      actions: ['notify', sound('default')],
    },
    {
      rule_id: '.m.rule.room_one_to_one',
      conditions: [{ kind: 'room_member_count', is: '2' }, typeIs('m.room.message')],
      actions: ['notify', sound('default')],
    },
    { rule_id: '.m.rule.message', conditions: [typeIs('m.room.message')], actions: ['notify'] },
    { rule_id: '.m.rule.encrypted', conditions: [typeIs('m.room.encrypted')], actions: ['notify'] },
  ];
}
