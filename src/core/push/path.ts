/**
 * Dot-separated property paths (spec appendix): `content.m\.relates_to`
 * names `m.relates_to` inside `content`. `\.` is a literal dot, `\\` a
 * literal backslash; any other backslash stays as it is.
 */
import { memoized } from './memo.js';

export const splitPath = memoized(1000, (path: string): string[] => {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '\\' && (path[i + 1] === '.' || path[i + 1] === '\\')) {
      current += path[++i];
    } else if (c === '.') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
});

/** The value at `path` in `obj`, or undefined when some step is missing or not an object. */
export function valueAt(obj: unknown, path: string): unknown {
  let current: unknown = obj;
  const parts = splitPath(path);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
