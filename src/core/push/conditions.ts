/**
 * The push rule conditions of the spec ("Conditions"). A condition the
 * spec does not define, or one with missing or malformed parameters, never
 * matches (which disables its rule, as the spec requires).
 */
import { containsWords, globMatches, globMatchesWords } from './glob.js';
import { memoized } from './memo.js';
import { valueAt } from './path.js';
import type { PushContext, PushEvent } from './types.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Strings, integers in the canonical-JSON range, booleans and null: the values exact matches compare. */
function isSimpleValue(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= MAX_SAFE);
}

function eventMatch(c: Record<string, unknown>, event: PushEvent): boolean {
  if (typeof c.key !== 'string' || typeof c.pattern !== 'string') return false;
  const value = valueAt(event, c.key);
  if (typeof value !== 'string') return false;
  return c.key === 'content.body' ? globMatchesWords(c.pattern, value) : globMatches(c.pattern, value);
}

function propertyIs(c: Record<string, unknown>, event: PushEvent): boolean {
  if (typeof c.key !== 'string' || !isSimpleValue(c.value)) return false;
  const value = valueAt(event, c.key);
  return isSimpleValue(value) && value === c.value;
}

function propertyContains(c: Record<string, unknown>, event: PushEvent): boolean {
  if (typeof c.key !== 'string' || !isSimpleValue(c.value)) return false;
  const value = valueAt(event, c.key);
  return Array.isArray(value) && value.some((v) => isSimpleValue(v) && v === c.value);
}

function displayNameIn(event: PushEvent, ctx: PushContext): boolean {
  const name = ctx.display_name;
  const body = event.content?.body;
  if (!name || typeof body !== 'string') return false;
  return containsWords(name, body);
}

/** `is`: a count, optionally after ==, <, >, >= or <=. */
const parseCount = memoized(1000, (is: string): { op: string; n: number } | null => {
  const m = /^(==|<=|>=|<|>)?([0-9]+)$/.exec(is);
  return m ? { op: m[1] ?? '==', n: Number(m[2]) } : null;
});

function memberCount(c: Record<string, unknown>, ctx: PushContext): boolean {
  if (typeof c.is !== 'string') return false;
  const parsed = parseCount(c.is);
  if (!parsed) return false;
  const { op, n } = parsed;
  const count = ctx.member_count;
  switch (op) {
    case '<':
      return count < n;
    case '>':
      return count > n;
    case '<=':
      return count <= n;
    case '>=':
      return count >= n;
    default:
      return count === n;
  }
}

function senderMayNotify(c: Record<string, unknown>, event: PushEvent, ctx: PushContext): boolean {
  if (typeof c.key !== 'string' || !ctx.powers) return false;
  // Only `room` has a documented default (50); other keys without a level get the same.
  const required = ctx.powers.notificationLevel(c.key) ?? 50;
  return ctx.powers.userLevel(event.sender) >= required;
}

export function conditionHolds(condition: unknown, event: PushEvent, ctx: PushContext): boolean {
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) return false;
  const c = condition as Record<string, unknown>;
  switch (c.kind) {
    case 'event_match':
      return eventMatch(c, event);
    case 'event_property_is':
      return propertyIs(c, event);
    case 'event_property_contains':
      return propertyContains(c, event);
    case 'contains_display_name':
      return displayNameIn(event, ctx);
    case 'room_member_count':
      return memberCount(c, ctx);
    case 'sender_notification_permission':
      return senderMayNotify(c, event, ctx);
    default:
      return false;
  }
}
