/**
 * The redaction algorithms of rooms/fragments/v1-, v6-, v9-, v11-redactions.md
 * and the inline one of rooms/v8.md. Redaction keeps only what the protocol
 * needs (ids, the DAG, hashes, signatures, the content keys that auth rules
 * read), so the result is also what event signatures and reference hashes
 * cover.
 */
import { copyJson, type JsonObject, type JsonValue } from '../canonical-json.js';
import type { RedactionAlgorithm, RoomVersion } from '../room-versions.js';
import type { PDU } from './pdu.js';

interface RedactionRules {
  readonly topLevel: readonly string[];
  /** Per event type, the content keys kept; `'*'` keeps the whole content. */
  readonly content: Readonly<Record<string, readonly string[] | '*'>>;
  /** v11: m.room.member keeps `third_party_invite`, reduced to its `signed` key. */
  readonly thirdPartyInviteSigned: boolean;
}

const TOP_LEVEL_V11 = [
  'event_id',
  'type',
  'room_id',
  'sender',
  'state_key',
  'content',
  'hashes',
  'signatures',
  'depth',
  'prev_events',
  'auth_events',
  'origin_server_ts',
] as const;

// Before v11 three legacy top-level keys were protected too.
const TOP_LEVEL_V1 = [...TOP_LEVEL_V11, 'prev_state', 'origin', 'membership'] as const;

const POWER_LEVELS_V1 = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'] as const;

const CONTENT_V6 = {
  'm.room.member': ['membership'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule'],
  'm.room.power_levels': POWER_LEVELS_V1,
  'm.room.history_visibility': ['history_visibility'],
} as const;

const RULES: Record<RedactionAlgorithm, RedactionRules> = {
  // v1–v5 still protect m.room.aliases, whose auth rule v6 removed.
  v1: { topLevel: TOP_LEVEL_V1, content: { ...CONTENT_V6, 'm.room.aliases': ['aliases'] }, thirdPartyInviteSigned: false },
  v6: { topLevel: TOP_LEVEL_V1, content: CONTENT_V6, thirdPartyInviteSigned: false },
  // v8 introduced restricted joins: the join rule's `allow` list is auth-relevant.
  v8: { topLevel: TOP_LEVEL_V1, content: { ...CONTENT_V6, 'm.room.join_rules': ['join_rule', 'allow'] }, thirdPartyInviteSigned: false },
  // v9 also keeps the authorising user of restricted joins.
  v9: {
    topLevel: TOP_LEVEL_V1,
    content: {
      ...CONTENT_V6,
      'm.room.member': ['membership', 'join_authorised_via_users_server'],
      'm.room.join_rules': ['join_rule', 'allow'],
    },
    thirdPartyInviteSigned: false,
  },
  v11: {
    topLevel: TOP_LEVEL_V11,
    content: {
      'm.room.member': ['membership', 'join_authorised_via_users_server'],
      'm.room.create': '*',
      'm.room.join_rules': ['join_rule', 'allow'],
      'm.room.power_levels': [...POWER_LEVELS_V1, 'invite'],
      'm.room.history_visibility': ['history_visibility'],
      'm.room.redaction': ['redacts'],
    },
    thirdPartyInviteSigned: true,
  },
};

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The content an event of `type` keeps when redacted under the room version's algorithm. */
export function redactContent(type: unknown, content: unknown, version: RoomVersion): JsonObject {
  const rules = RULES[version.redaction];
  if (!isObject(content) || typeof type !== 'string' || !Object.hasOwn(rules.content, type)) return {};
  const keep = rules.content[type]!;
  if (keep === '*') return copyJson(content);
  const kept: JsonObject = {};
  for (const key of keep) {
    if (Object.hasOwn(content, key)) kept[key] = copyJson(content[key]!);
  }
  if (rules.thirdPartyInviteSigned && type === 'm.room.member') {
    const invite = content.third_party_invite;
    if (isObject(invite)) {
      // The spec keeps the key itself ("no longer redacted") but only `signed` inside it.
      const reduced: { [key: string]: JsonValue } = {};
      if (Object.hasOwn(invite, 'signed')) reduced.signed = copyJson(invite.signed!);
      kept.third_party_invite = reduced;
    }
  }
  return kept;
}

/**
 * The redacted form of an event: a new object, the input is not touched.
 * `unsigned` is dropped like every unlisted key (servers add
 * `redacted_because` themselves when serving the event). An event without
 * `content` gains an empty one, as Synapse and gomatrixserverlib do; their
 * signatures over such events depend on it.
 */
export function redact(pdu: PDU, version: RoomVersion): PDU {
  const rules = RULES[version.redaction];
  const source = pdu as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of rules.topLevel) {
    if (key !== 'content' && Object.hasOwn(source, key) && source[key] !== undefined) out[key] = copyJson(source[key]);
  }
  out.content = redactContent(source.type, source.content, version);
  return out as PDU;
}
