/**
 * Glob patterns (spec appendix, "Glob-style matching": `*` any run of
 * characters, `?` exactly one), matched case-insensitively, either against
 * a whole value or, for `content.body` and display names, against any
 * substring that starts and ends at a word boundary (the start or end of
 * the value, or a character outside `[A-Za-z0-9_]`).
 */

const WORD = 'A-Za-z0-9_';
const MAX_CACHED = 2000;
/**
 * Compiled patterns, one map per way of matching: keyed by the pattern
 * alone, so that a lookup (once per rule, recipient and event) builds no
 * string.
 */
const caches = { whole: new Map<string, RegExp>(), words: new Map<string, RegExp>(), literal: new Map<string, RegExp>() };
type Mode = keyof typeof caches;

/** Escapes what is syntax in a `u` regular expression (where escaping anything else is an error). */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function compile(pattern: string, mode: Mode): RegExp {
  const cache = caches[mode];
  let re = cache.get(pattern);
  if (re) return re;
  const body = mode === 'literal' ? escape(pattern) : [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escape(c))).join('');
  // `u`: `?` is one character, not one UTF-16 unit; `s`: `*` crosses line breaks.
  re = mode === 'whole' ? new RegExp(`^${body}$`, 'isu') : new RegExp(`(?<![${WORD}])${body}(?![${WORD}])`, 'isu');
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** The whole value matches the glob. */
export function globMatches(pattern: string, value: string): boolean {
  return compile(pattern, 'whole').test(value);
}

/** Some substring between word boundaries matches the glob. */
export function globMatchesWords(pattern: string, value: string): boolean {
  return compile(pattern, 'words').test(value);
}

/** The text itself (no glob) occurs between word boundaries. */
export function containsWords(text: string, value: string): boolean {
  return compile(text, 'literal').test(value);
}
