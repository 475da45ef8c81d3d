/**
 * Push rule evaluation: which rule of a user's ruleset applies to an event,
 * and what it does. The SyncAPI calls `evaluatePushRules` once per event and
 * local recipient (the sender excluded: it returns nothing for them) to
 * count notifications and highlights, and `/notifications` lists what it
 * returned `notify` for.
 */
import { conditionHolds } from './conditions.js';
import { globMatchesWords } from './glob.js';
import { PUSH_RULE_KINDS, type PushAction, type PushContext, type PushEvaluation, type PushEvent, type PushRule, type PushRuleKind, type PushRuleset } from './types.js';

const NOTHING: PushEvaluation = Object.freeze({ notify: false, highlight: false, actions: [], tweaks: {} }) as PushEvaluation;

/** Whether a rule of this kind applies; disabled rules never do. */
function ruleMatches(kind: PushRuleKind, rule: PushRule, event: PushEvent, ctx: PushContext): boolean {
  if (!rule.enabled) return false;
  switch (kind) {
    case 'override':
    case 'underride': {
      // No conditions: the rule always matches.
      const conditions = rule.conditions ?? [];
      for (let i = 0; i < conditions.length; i++) if (!conditionHolds(conditions[i], event, ctx)) return false;
      return true;
    }
    case 'content': {
      const body = event.content?.body;
      return typeof rule.pattern === 'string' && typeof body === 'string' && globMatchesWords(rule.pattern, body);
    }
    case 'room':
      return rule.rule_id === (ctx.room_id ?? event.room_id);
    case 'sender':
      return rule.rule_id === event.sender;
  }
}

/** The actions that mean something: `dont_notify` and `coalesce` are historical and dropped (spec), unknown ones too. */
export function normaliseActions(actions: unknown[]): PushAction[] {
  const out: PushAction[] = [];
  for (const a of actions) {
    if (a === 'notify') out.push(a);
    else if (typeof a === 'object' && a !== null && !Array.isArray(a) && typeof (a as Record<string, unknown>).set_tweak === 'string') {
      const t = a as { set_tweak: string; value?: unknown };
      out.push('value' in t ? { set_tweak: t.set_tweak, value: t.value } : { set_tweak: t.set_tweak });
    }
  }
  return out;
}

/**
 * What a rule does, worked out once per rule object: a user's ruleset is
 * kept while it is unchanged, and evaluation runs for every recipient of
 * every event. Shared, so frozen.
 */
const outcomes = new WeakMap<PushRule, PushEvaluation>();

function outcomeOf(kind: PushRuleKind, rule: PushRule): PushEvaluation {
  let o = outcomes.get(rule);
  if (!o) {
    o = outcome(normaliseActions(rule.actions), `${kind}/${rule.rule_id}`);
    Object.freeze(o.actions);
    Object.freeze(o.tweaks);
    outcomes.set(rule, Object.freeze(o));
  }
  return o;
}

function outcome(actions: PushAction[], rule: string): PushEvaluation {
  const notify = actions.includes('notify');
  const tweaks: Record<string, unknown> = {};
  for (const a of actions) {
    if (typeof a === 'string') continue;
    // "If a highlight tweak is given with no value, its value is defined to be true."
    tweaks[a.set_tweak] = a.set_tweak === 'highlight' && !('value' in a) ? true : a.value;
  }
  return { notify, highlight: notify && tweaks.highlight === true, actions, tweaks, rule };
}

/**
 * Evaluates `ruleset` (the recipient's rules, defaults included, each kind
 * in priority order) against `event` for the recipient `ctx.user_id`: the
 * first enabled rule that matches, in the order override, content, room,
 * sender, underride, decides. No match, or the recipient's own event:
 * nothing.
 */
export function evaluatePushRules(ruleset: PushRuleset, event: PushEvent, ctx: PushContext): PushEvaluation {
  if (event.sender === ctx.user_id) return NOTHING;
  for (const kind of PUSH_RULE_KINDS) {
    const rules = ruleset[kind] ?? [];
    for (let i = 0; i < rules.length; i++) {
      if (ruleMatches(kind, rules[i]!, event, ctx)) return outcomeOf(kind, rules[i]!);
    }
  }
  return NOTHING;
}
