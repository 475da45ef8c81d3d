/**
 * A user's push rules: the server defaults with the user's changes to them,
 * and the user's own rules, as pure functions over what is stored. Every
 * change function returns a new stored value or throws the MatrixError the
 * endpoint answers with.
 */
import { MatrixError } from '../../../core/errors.js';
import { isValidRoomId, isValidUserId } from '../../../core/identifiers.js';
import type { PushRule, PushRuleKind, PushRuleset } from '../api.js';
import { defaultOverrideRules, defaultUnderrideRules, MASTER_RULE } from './defaults.js';

export const PUSH_RULE_KINDS: readonly PushRuleKind[] = ['override', 'content', 'room', 'sender', 'underride'];

export function isPushRuleKind(k: string): k is PushRuleKind {
  return (PUSH_RULE_KINDS as readonly string[]).includes(k);
}

export interface UserRule {
  rule_id: string;
  enabled: boolean;
  actions: unknown[];
  conditions?: unknown[];
  pattern?: string;
}

export interface StoredPushRules {
  /** The user's own rules of each kind, most important first. */
  rules: Partial<Record<PushRuleKind, UserRule[]>>;
  /** Changes to server-default rules, by `kind/rule_id`. */
  defaults: Record<string, { enabled?: boolean; actions?: unknown[] }>;
}

export const emptyPushRules = (): StoredPushRules => ({ rules: {}, defaults: {} });

const notFound = () => new MatrixError(404, 'M_NOT_FOUND', 'The push rule was not found');

function defaultsOf(kind: PushRuleKind, userId: string): { head: Omit<PushRule, 'default' | 'enabled'>[]; tail: (Omit<PushRule, 'default' | 'enabled'> & { enabled?: boolean })[] } {
  if (kind === 'override') return { head: [MASTER_RULE], tail: defaultOverrideRules(userId) };
  if (kind === 'underride') return { head: [], tail: defaultUnderrideRules() };
  return { head: [], tail: [] };
}

function withChanges(kind: PushRuleKind, rule: Omit<PushRule, 'default' | 'enabled'> & { enabled?: boolean }, stored: StoredPushRules): PushRule {
  const change = stored.defaults[`${kind}/${rule.rule_id}`] ?? {};
  return {
    ...rule,
    default: true,
    enabled: change.enabled ?? rule.enabled ?? true,
    actions: change.actions ?? rule.actions,
  };
}

function userRule(rule: UserRule): PushRule {
  return { ...rule, default: false };
}

/** The rules of one kind in priority order, as clients see them. */
export function rulesOfKind(userId: string, stored: StoredPushRules, kind: PushRuleKind): PushRule[] {
  const { head, tail } = defaultsOf(kind, userId);
  return [...head.map((r) => withChanges(kind, r, stored)), ...(stored.rules[kind] ?? []).map(userRule), ...tail.map((r) => withChanges(kind, r, stored))];
}

export function ruleset(userId: string, stored: StoredPushRules): PushRuleset {
  const out = {} as PushRuleset;
  for (const kind of PUSH_RULE_KINDS) out[kind] = rulesOfKind(userId, stored, kind);
  return out;
}

export function findRule(userId: string, stored: StoredPushRules, kind: PushRuleKind, ruleId: string): PushRule {
  const rule = rulesOfKind(userId, stored, kind).find((r) => r.rule_id === ruleId);
  if (!rule) throw notFound();
  return rule;
}

/**
 * Actions as stored: as the client gave them. The historical `dont_notify`
 * and `coalesce` are kept (clients and Complement read back what they set)
 * and ignored where rules are evaluated (core/push), as the spec requires.
 */
export function checkActions(actions: unknown): unknown[] {
  if (!Array.isArray(actions)) throw new MatrixError(400, 'M_BAD_JSON', 'actions must be an array');
  const out: unknown[] = [];
  for (const a of actions) {
    if (a === 'notify' || a === 'dont_notify' || a === 'coalesce') out.push(a);
    else if (typeof a === 'object' && a !== null && !Array.isArray(a) && typeof (a as Record<string, unknown>).set_tweak === 'string') out.push(a);
    else throw new MatrixError(400, 'M_INVALID_PARAM', `Unrecognised action ${JSON.stringify(a)}`);
  }
  return out;
}

function checkRuleId(kind: PushRuleKind, ruleId: string): void {
  if (ruleId === '' || ruleId.startsWith('.')) throw new MatrixError(400, 'M_INVALID_PARAM', 'Rule ids starting with "." are reserved for server-default rules');
  if (/[/\\]/.test(ruleId)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Rule ids may not contain "/" or "\\"');
  if (kind === 'room' && !isValidRoomId(ruleId)) throw new MatrixError(400, 'M_INVALID_PARAM', 'The rule id of a room rule is a room id');
  if (kind === 'sender' && !isValidUserId(ruleId)) throw new MatrixError(400, 'M_INVALID_PARAM', 'The rule id of a sender rule is a user id');
}

export interface RuleBody {
  actions: unknown;
  conditions?: unknown;
  pattern?: unknown;
}

/** Adds or replaces a user rule (PUT /pushrules/global/{kind}/{ruleId}). */
export function putRule(stored: StoredPushRules, kind: PushRuleKind, ruleId: string, body: RuleBody, place: { before?: string; after?: string }): StoredPushRules {
  checkRuleId(kind, ruleId);
  const actions = checkActions(body.actions);
  const rule: UserRule = { rule_id: ruleId, enabled: true, actions };
  if (kind === 'content') {
    if (typeof body.pattern !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'A content rule needs a pattern');
    rule.pattern = body.pattern;
  }
  if (kind === 'override' || kind === 'underride') {
    const conditions = body.conditions ?? [];
    if (!Array.isArray(conditions) || conditions.some((c) => typeof c !== 'object' || c === null || Array.isArray(c) || typeof (c as Record<string, unknown>).kind !== 'string')) {
      throw new MatrixError(400, 'M_BAD_JSON', 'conditions must be a list of objects with a kind');
    }
    rule.conditions = conditions;
  }
  const list = [...(stored.rules[kind] ?? [])];
  const existing = list.findIndex((r) => r.rule_id === ruleId);
  if (existing >= 0) {
    // An update keeps whether the rule was enabled; only creation enables.
    rule.enabled = list[existing]!.enabled;
    list.splice(existing, 1);
  }
  const anchorIndex = (id: string) => {
    const i = list.findIndex((r) => r.rule_id === id);
    if (i < 0) throw new MatrixError(400, 'M_UNKNOWN', `before/after rule not found: ${id}`);
    return i;
  };
  if (place.before !== undefined) list.splice(anchorIndex(place.before), 0, rule);
  else if (place.after !== undefined) list.splice(anchorIndex(place.after) + 1, 0, rule);
  else if (existing >= 0) list.splice(existing, 0, rule);
  else list.unshift(rule);
  return { ...stored, rules: { ...stored.rules, [kind]: list } };
}

export function deleteRule(stored: StoredPushRules, kind: PushRuleKind, ruleId: string): StoredPushRules {
  const list = stored.rules[kind] ?? [];
  if (!list.some((r) => r.rule_id === ruleId)) {
    if (ruleId.startsWith('.')) throw new MatrixError(400, 'M_INVALID_PARAM', 'Server-default rules cannot be deleted; disable them instead');
    throw notFound();
  }
  return { ...stored, rules: { ...stored.rules, [kind]: list.filter((r) => r.rule_id !== ruleId) } };
}

function changeRule(userId: string, stored: StoredPushRules, kind: PushRuleKind, ruleId: string, change: { enabled?: boolean; actions?: unknown[] }): StoredPushRules {
  const rule = findRule(userId, stored, kind, ruleId);
  if (rule.default) {
    const key = `${kind}/${ruleId}`;
    return { ...stored, defaults: { ...stored.defaults, [key]: { ...stored.defaults[key], ...change } } };
  }
  const list = (stored.rules[kind] ?? []).map((r) => (r.rule_id === ruleId ? { ...r, ...change } : r));
  return { ...stored, rules: { ...stored.rules, [kind]: list } };
}

export function setEnabled(userId: string, stored: StoredPushRules, kind: PushRuleKind, ruleId: string, enabled: boolean): StoredPushRules {
  return changeRule(userId, stored, kind, ruleId, { enabled });
}

export function setActions(userId: string, stored: StoredPushRules, kind: PushRuleKind, ruleId: string, actions: unknown): StoredPushRules {
  return changeRule(userId, stored, kind, ruleId, { actions: checkActions(actions) });
}
