/**
 * Glob patterns (spec appendix, "Glob-style matching": `*` any run of
 * characters, `?` exactly one), matched case-insensitively, either against
 * a whole value or, for `content.body` and display names, against any
 * substring that starts and ends at a word boundary (the start or end of
 * the value, or a character outside `[A-Za-z0-9_]`).
 */

import { memoized } from './memo.js';

const WORD = 'A-Za-z0-9_';
const MAX_CACHED = 2000;

/** Escapes what is syntax in a `u` regular expression (where escaping anything else is an error). */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const globBody = (pattern: string) => [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escape(c))).join('');
// `u`: `?` is one character, not one UTF-16 unit; `s`: `*` crosses line breaks.
const betweenWordBoundaries = (body: string) => new RegExp(`(?<![${WORD}])${body}(?![${WORD}])`, 'isu');

/** Compiled once per pattern, one memo per way of matching. */
const whole = memoized(MAX_CACHED, (pattern) => new RegExp(`^${globBody(pattern)}$`, 'isu'));
const words = memoized(MAX_CACHED, (pattern) => betweenWordBoundaries(globBody(pattern)));
const literal = memoized(MAX_CACHED, (text) => betweenWordBoundaries(escape(text)));

/** The whole value matches the glob. */
export function globMatches(pattern: string, value: string): boolean {
  return whole(pattern).test(value);
}

/** Some substring between word boundaries matches the glob. */
export function globMatchesWords(pattern: string, value: string): boolean {
  return words(pattern).test(value);
}

/** The text itself (no glob) occurs between word boundaries. */
export function containsWords(text: string, value: string): boolean {
  return literal(text).test(value);
}
