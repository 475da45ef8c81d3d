/**
 * Sliding sync's `required_state`: which state events a room config asks
 * for. Two request shapes are understood: the list of [type, state_key]
 * pairs clients send today (`*` matches anything, `$ME` is the requester,
 * `["m.room.member", "$LAZY"]` turns on lazy-loaded members), and the
 * MSC's newer object `{include, exclude, lazy_members}` (an omitted type or
 * state_key matches anything). Both become one `StateSpec`, which configs
 * are combined into (the union) and compared with (did it grow?).
 */
import { MatrixError } from '../../../core/errors.js';

const ANY = '*';

export interface StateSpec {
  /** Every state event. */
  all: boolean;
  /** type → the state keys wanted ('*': all of them). */
  types: Map<string, Set<string> | '*'>;
  /** State keys wanted whatever the type. */
  anyType: Set<string>;
  /** Members of the timeline's senders (and targets), beyond what `types` asks. */
  lazy: boolean;
  /** [type, key] pairs left out ('*' for any); lazy members are not filtered by them. */
  exclude: [string, string][];
}

export function emptySpec(): StateSpec {
  return { all: false, types: new Map(), anyType: new Set(), lazy: false, exclude: [] };
}

function bad(msg: string): never {
  throw new MatrixError(400, 'M_INVALID_PARAM', msg);
}

function add(spec: StateSpec, type: string, key: string): void {
  if (type === ANY && key === ANY) spec.all = true;
  else if (type === ANY) spec.anyType.add(key);
  else if (key === ANY) spec.types.set(type, ANY);
  else {
    const cur = spec.types.get(type);
    if (cur === ANY) return;
    if (cur) cur.add(key);
    else spec.types.set(type, new Set([key]));
  }
}

/** Parses either request shape; `$ME` becomes the user. Throws 400 on anything else. */
export function parseRequiredState(value: unknown, userId: string, where: string): StateSpec {
  const spec = emptySpec();
  if (value === undefined || value === null) return spec;
  const me = (k: string) => (k === '$ME' ? userId : k);
  if (Array.isArray(value)) {
    if (value.length > 1000) bad(`${where}.required_state is too long`);
    for (const pair of value) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        bad(`${where}.required_state entries must be [type, state_key] pairs of strings`);
      }
      const [type, key] = pair as [string, string];
      if (type === 'm.room.member' && key === '$LAZY') spec.lazy = true;
      else add(spec, type, me(key));
    }
  } else if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    const elems = (list: unknown, name: string): [string, string][] => {
      if (list === undefined) return [];
      if (!Array.isArray(list) || list.length > 1000) bad(`${where}.required_state.${name} must be a list`);
      return list.map((e) => {
        if (!e || typeof e !== 'object' || Array.isArray(e)) bad(`${where}.required_state.${name} entries must be objects`);
        const { type, state_key } = e as Record<string, unknown>;
        if ((type !== undefined && typeof type !== 'string') || (state_key !== undefined && typeof state_key !== 'string')) {
          bad(`${where}.required_state.${name}: type and state_key must be strings`);
        }
        return [type ?? ANY, me((state_key as string | undefined) ?? ANY)];
      });
    };
    for (const [type, key] of elems(v.include, 'include')) add(spec, type, key);
    spec.exclude = elems(v.exclude, 'exclude');
    if (v.lazy_members !== undefined && typeof v.lazy_members !== 'boolean') bad(`${where}.required_state.lazy_members must be a boolean`);
    spec.lazy = v.lazy_members === true;
  } else bad(`${where}.required_state must be a list`);
  if (spec.lazy && coversAllMembers(spec)) spec.lazy = false;
  return spec;
}

function coversAllMembers(s: StateSpec): boolean {
  return s.all || s.types.get('m.room.member') === ANY;
}

function excluded(s: StateSpec, type: string, key: string): boolean {
  return s.exclude.some(([t, k]) => (t === ANY || t === type) && (k === ANY || k === key));
}

/** Whether the spec asks for this state event (lazy members aside). */
export function wants(s: StateSpec, type: string, key: string): boolean {
  if (excluded(s, type, key)) return false;
  if (s.all || s.anyType.has(key)) return true;
  const t = s.types.get(type);
  return t === ANY || (t !== undefined && t.has(key));
}

/** Whether the spec asks for anything of a type (to skip reading what is not wanted). */
export function wantsType(s: StateSpec, type: string): boolean {
  return s.all || s.anyType.size > 0 || s.types.has(type) || (type === 'm.room.member' && s.lazy);
}

/** The union of specs (a room that several lists and subscriptions match). */
export function combine(specs: StateSpec[]): StateSpec {
  const out = emptySpec();
  for (const s of specs) {
    if (s.all) out.all = true;
    for (const k of s.anyType) out.anyType.add(k);
    for (const [type, keys] of s.types) {
      if (keys === ANY) out.types.set(type, ANY);
      else for (const k of keys) add(out, type, k);
    }
    if (s.lazy) out.lazy = true;
  }
  // An exclusion holds only when every config has it (else some config returns the event).
  out.exclude = specs.length === 0 ? [] : specs[0]!.exclude.filter(([t, k]) => specs.every((s) => s.exclude.some(([t2, k2]) => t2 === t && k2 === k)));
  if (out.lazy && coversAllMembers(out)) out.lazy = false;
  return out;
}

/** Whether `prev` already returned everything `next` asks for (so no state need be sent again). */
export function covers(prev: StateSpec, next: StateSpec): boolean {
  if (next.exclude.length < prev.exclude.length || prev.exclude.some(([t, k]) => !next.exclude.some(([t2, k2]) => t2 === t && k2 === k))) return false;
  if (prev.all) return !next.lazy || prev.lazy || coversAllMembers(prev);
  if (next.all) return false;
  for (const k of next.anyType) if (!prev.anyType.has(k)) return false;
  for (const [type, keys] of next.types) {
    const p = prev.types.get(type);
    if (p === ANY) continue;
    if (keys === ANY) return false;
    for (const k of keys) if (!(p?.has(k) || prev.anyType.has(k))) return false;
  }
  if (next.lazy && !prev.lazy && !coversAllMembers(prev)) return false;
  return true;
}
