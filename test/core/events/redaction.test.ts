import t from 'tap';
import { redact, redactContent } from '../../../src/core/events/redaction.js';
import { ALL_VERSIONS, asPdu, loadVectors, rv } from './helpers.js';

const rules = loadVectors('room-version-rules.json');

const base = {
  room_id: '!room:example.org',
  sender: '@alice:example.org',
  origin_server_ts: 1_700_000_000_000,
  depth: 5,
  prev_events: ['$prev'],
  auth_events: ['$auth'],
  hashes: { sha256: 'hash' },
  signatures: { 'example.org': { 'ed25519:a': 'sig' } },
};

function event(type: string, content: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return asPdu({ ...base, type, state_key: '', content, ...extra });
}

t.test('the keep-lists agree with the spec allow-lists for every room version', async (t) => {
  const allContentKeys = new Set<string>(['extra', 'third_party_invite']);
  for (const alg of Object.values<any>(rules.redaction_algorithms)) {
    for (const spec of Object.values<any>(alg.keep_content)) if (Array.isArray(spec.keys)) spec.keys.forEach((k: string) => allContentKeys.add(k));
  }
  const allTopKeys = new Set<string>(['extra', 'unsigned', 'redacts']);
  for (const alg of Object.values<any>(rules.redaction_algorithms)) alg.keep_top_level.forEach((k: string) => allTopKeys.add(k));
  const types = ['m.room.member', 'm.room.create', 'm.room.join_rules', 'm.room.power_levels', 'm.room.aliases', 'm.room.history_visibility', 'm.room.redaction', 'm.room.message', 'm.room.topic'];

  for (const id of ALL_VERSIONS) {
    const fragment = rules.room_versions[id].redaction_fragment;
    const alg = rules.redaction_algorithms[fragment];
    t.test(`room version ${id} (${fragment})`, async (t) => {
      for (const type of types) {
        const content = Object.fromEntries([...allContentKeys].filter((k) => k !== 'third_party_invite').map((k) => [k, `v-${k}`]));
        const input: Record<string, unknown> = Object.fromEntries([...allTopKeys].map((k) => [k, `top-${k}`]));
        Object.assign(input, { type, content });
        const out = redact(asPdu(input), rv(id)) as Record<string, unknown>;

        t.same(Object.keys(out).sort(), [...alg.keep_top_level].sort(), `${type}: top-level keys`);
        const keep = alg.keep_content[type]?.keys;
        const expectedContent = keep === '*' ? content : Object.fromEntries((keep ?? []).map((k: string) => [k, `v-${k}`]));
        t.same(out.content, expectedContent, `${type}: content keys`);
      }
    });
  }
});

t.test('v11 drops origin, membership and prev_state; v10 keeps them', async (t) => {
  const pdu = event('m.room.member', { membership: 'join' }, { origin: 'example.org', membership: 'join', prev_state: [] });
  const v10 = redact(pdu, rv('10'));
  t.equal(v10.origin, 'example.org');
  t.equal(v10.membership, 'join');
  t.same(v10.prev_state, []);
  const v11 = redact(pdu, rv('11'));
  t.notOk('origin' in v11);
  t.notOk('membership' in v11);
  t.notOk('prev_state' in v11);
  t.same(v11.content, { membership: 'join' }, 'content membership is still kept');
  t.same(redact(pdu, rv('12')), v11, 'v12 uses the v11 algorithm');
});

t.test('create events: v11 keeps the whole content, earlier versions only creator', async (t) => {
  const content = { creator: '@alice:example.org', room_version: '10', 'm.federate': false, predecessor: { room_id: '!old:example.org' } };
  const pdu = event('m.room.create', content);
  t.same(redact(pdu, rv('10')).content, { creator: '@alice:example.org' });
  t.same(redact(pdu, rv('1')).content, { creator: '@alice:example.org' });
  t.same(redact(pdu, rv('11')).content, content);
  t.same(redact(pdu, rv('12')).content, content);
});

t.test('power levels: v11 keeps invite, earlier versions drop it', async (t) => {
  const content = { ban: 50, kick: 50, redact: 50, invite: 0, events: {}, events_default: 0, state_default: 50, users: { '@a:b': 100 }, users_default: 0, notifications: { room: 50 } };
  const { invite: _i, notifications: _n, ...withoutInvite } = content;
  t.same(redact(event('m.room.power_levels', content), rv('10')).content, withoutInvite);
  const { notifications: _n2, ...withInvite } = content;
  t.same(redact(event('m.room.power_levels', content), rv('11')).content, withInvite);
});

t.test('redaction events: v11 keeps content.redacts; the top-level redacts is never protected', async (t) => {
  const old = asPdu({ ...base, type: 'm.room.redaction', redacts: '$target', content: { reason: 'spam', redacts: '$target' } });
  const v10 = redact(old, rv('10'));
  t.notOk('redacts' in v10, 'top-level redacts is not in any keep-list');
  t.same(v10.content, {});
  const v11 = redact(old, rv('11'));
  t.same(v11.content, { redacts: '$target' });
  t.notOk('redacts' in v11);
});

t.test('join_authorised_via_users_server is kept from v9, allow from v8', async (t) => {
  const member = event('m.room.member', { membership: 'join', join_authorised_via_users_server: '@bob:example.org', displayname: 'A' });
  t.same(redact(member, rv('8')).content, { membership: 'join' }, 'v8 drops it (the bug v9 fixed)');
  t.same(redact(member, rv('9')).content, { membership: 'join', join_authorised_via_users_server: '@bob:example.org' });
  t.same(redact(member, rv('10')).content, { membership: 'join', join_authorised_via_users_server: '@bob:example.org' });
  t.same(redact(member, rv('11')).content, { membership: 'join', join_authorised_via_users_server: '@bob:example.org' });

  const rules = event('m.room.join_rules', { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:example.org' }] });
  t.same(redact(rules, rv('7')).content, { join_rule: 'restricted' }, 'v7 drops allow');
  t.same(redact(rules, rv('8')).content, rules.content);
  t.same(redact(rules, rv('9')).content, rules.content);
});

t.test('m.room.aliases keeps aliases only in v1–v5', async (t) => {
  const aliases = event('m.room.aliases', { aliases: ['#a:example.org'] });
  for (const id of ['1', '2', '3', '4', '5']) t.same(redact(aliases, rv(id)).content, { aliases: ['#a:example.org'] }, `v${id}`);
  for (const id of ['6', '9', '11']) t.same(redact(aliases, rv(id)).content, {}, `v${id}`);
});

t.test('v11 keeps third_party_invite with only its signed key', async (t) => {
  const signed = { mxid: '@c:example.org', token: 'tok', signatures: {} };
  const member = event('m.room.member', { membership: 'invite', third_party_invite: { display_name: 'Carol', signed } });
  t.same(redact(member, rv('10')).content, { membership: 'invite' });
  t.same(redact(member, rv('11')).content, { membership: 'invite', third_party_invite: { signed } });
  const noSigned = event('m.room.member', { membership: 'invite', third_party_invite: { display_name: 'Carol' } });
  t.same(redact(noSigned, rv('11')).content, { membership: 'invite', third_party_invite: {} }, 'the key stays, emptied');
  const notObject = event('m.room.member', { membership: 'invite', third_party_invite: 'x' });
  t.same(redact(notObject, rv('11')).content, { membership: 'invite' }, 'a non-object is dropped');
});

t.test('unsigned is dropped, missing content becomes {}, the input is not touched', async (t) => {
  const pdu = event('m.room.message', { body: 'hi' }, { unsigned: { age: 5, redacted_because: {} } });
  const before = structuredClone(pdu);
  const out = redact(pdu, rv('11'));
  t.notOk('unsigned' in out);
  t.same(out.content, {});
  t.same(pdu, before, 'input unchanged');

  const noContent = asPdu({ ...base, type: 'm.room.message' });
  t.same(redact(noContent, rv('6')).content, {});
  const badContent = asPdu({ ...base, type: 'm.room.member', content: 'join' });
  t.same(redact(badContent, rv('6')).content, {});
});

t.test('the result shares no objects with the input', async (t) => {
  const pdu = event('m.room.power_levels', { users: { '@a:example.org': 100 } });
  const out = redact(pdu, rv('10'));
  (out.content.users as Record<string, number>)['@a:example.org'] = 0;
  out.signatures['example.org']!['ed25519:a'] = 'changed';
  (out.prev_events as string[]).push('$x');
  t.same(pdu.content.users, { '@a:example.org': 100 });
  t.equal(pdu.signatures['example.org']!['ed25519:a'], 'sig');
  t.same(pdu.prev_events, ['$prev']);
});

t.test('redactContent is the content part of redact', async (t) => {
  t.same(redactContent('m.room.member', { membership: 'leave', reason: 'x' }, rv('4')), { membership: 'leave' });
  t.same(redactContent(42, { membership: 'leave' }, rv('4')), {});
});
