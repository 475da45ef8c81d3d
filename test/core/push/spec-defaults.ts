/**
 * The server-default push rules exactly as the spec v1.19 writes them
 * (client-server API, "Push Notifications" → "Predefined Rules"), for a
 * user, in the spec's order. Test data transcribed from the specification.
 */
import type { PushRuleset } from '../../../src/core/push/index.js';

export function specDefaultRules(userId: string): PushRuleset {
  const match = (key: string, pattern: string) => ({ kind: 'event_match', key, pattern });
  const rule = (rule_id: string, conditions: unknown[], actions: unknown[], enabled = true) => ({ rule_id, default: true, enabled, conditions, actions });
  return {
    override: [
      rule('.m.rule.master', [], [], false),
      rule('.m.rule.suppress_notices', [match('content.msgtype', 'm.notice')], []),
      rule('.m.rule.invite_for_me', [match('type', 'm.room.member'), match('content.membership', 'invite'), match('state_key', userId)], ['notify', { set_tweak: 'sound', value: 'default' }]),
      rule('.m.rule.member_event', [match('type', 'm.room.member')], []),
      rule('.m.rule.is_user_mention', [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }], ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }]),
      rule('.m.rule.is_room_mention', [{ kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true }, { kind: 'sender_notification_permission', key: 'room' }], ['notify', { set_tweak: 'highlight' }]),
      rule('.m.rule.tombstone', [match('type', 'm.room.tombstone'), match('state_key', '')], ['notify', { set_tweak: 'highlight' }]),
      rule('.m.rule.reaction', [match('type', 'm.reaction')], []),
      rule('.m.rule.room.server_acl', [match('type', 'm.room.server_acl'), match('state_key', '')], []),
      rule('.m.rule.suppress_edits', [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }], []),
    ],
    content: [],
    room: [],
    sender: [],
    underride: [
      rule('.m.rule.call', [match('type', 'm.call.invite')], ['notify', { set_tweak: 'sound', value: 'ring' }]),
      rule('.m.rule.encrypted_room_one_to_one', [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.encrypted')], ['notify', { set_tweak: 'sound', value: 'default' }]),
      rule('.m.rule.room_one_to_one', [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.message')], ['notify', { set_tweak: 'sound', value: 'default' }]),
      rule('.m.rule.message', [match('type', 'm.room.message')], ['notify']),
      rule('.m.rule.encrypted', [match('type', 'm.room.encrypted')], ['notify']),
    ],
  };
}
