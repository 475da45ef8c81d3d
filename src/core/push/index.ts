/** Push rules: evaluation for a recipient, and the thread an event belongs to (for per-thread counts). */
export { evaluatePushRules, normaliseActions } from './evaluate.js';
export { MAIN_THREAD, relationOf, threadOf } from './thread.js';
export { PUSH_RULE_KINDS } from './types.js';
export type { PushAction, PushContext, PushEvaluation, PushEvent, PushRule, PushRuleKind, PushRuleset } from './types.js';
