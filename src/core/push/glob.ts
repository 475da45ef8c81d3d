/**
 * Glob patterns (spec appendix, "Glob-style matching": `*` any run of
 * characters, `?` exactly one), matched case-insensitively, either against
 * a whole value or, for `content.body` and display names, against any
 * substring that starts and ends at a word boundary (the start or end of
 * the value, or a character outside `[A-Za-z0-9_]`).
 */

const WORD = 'A-Za-z0-9_';
const cache = new Map<string, RegExp>();
const MAX_CACHED = 2000;

/** Escapes what is syntax in a `u` regular expression (where escaping anything else is an error). */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function compile(pattern: string, words: boolean, literal: boolean): RegExp {
  const key = `${words ? 'w' : 'v'}${literal ? 'l' : 'g'}${pattern}`;
  let re = cache.get(key);
  if (re) return re;
  const body = literal ? escape(pattern) : [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escape(c))).join('');
  // `u`: `?` is one character, not one UTF-16 unit; `s`: `*` crosses line breaks.
  re = words ? new RegExp(`(?<![${WORD}])${body}(?![${WORD}])`, 'isu') : new RegExp(`^${body}$`, 'isu');
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, re);
  return re;
}

/** The whole value matches the glob. */
export function globMatches(pattern: string, value: string): boolean {
  return compile(pattern, false, false).test(value);
}

/** Some substring between word boundaries matches the glob. */
export function globMatchesWords(pattern: string, value: string): boolean {
  return compile(pattern, true, false).test(value);
}

/** The text itself (no glob) occurs between word boundaries. */
export function containsWords(text: string, value: string): boolean {
  return compile(text, true, true).test(value);
}
