/**
 * Request bodies as JSON: parsed once, then checked for what JSON.parse
 * accepts but a homeserver must not: nesting deep enough to exhaust a stack
 * later, `__proto__` keys that would poison an object merged from them, and,
 * on routes that build events, numbers outside canonical JSON.
 */
import { MatrixError } from '../../core/errors.js';
import { canonicalTextProblem, MAX_SAFE_INTEGER } from '../../core/canonical-json.js';

export const DEFAULT_MAX_DEPTH = 64;

export interface BodyChecks {
  maxDepth: number;
  /** Reject floats and integers outside ±(2^53−1), as canonical JSON does. */
  canonicalNumbers: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Request JSON must be UTF-8 (spec: "All JSON data … must be encoded using
 * UTF-8"); a lenient decode would turn stray bytes into U+FFFD and accept them.
 */
export function decodeJsonBytes(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'The request body is not valid UTF-8');
  }
}

export function parseJsonBody(body: string | Uint8Array, checks: BodyChecks): unknown {
  const text = typeof body === 'string' ? body : decodeJsonBytes(body);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'The request body is not valid JSON');
  }
  const problem = bodyProblem(value, checks);
  if (problem) throw new MatrixError(400, 'M_BAD_JSON', problem);
  // How a number was written (1.0, 1e2) is lost once parsed: events read the text too.
  const textual = checks.canonicalNumbers ? canonicalTextProblem(text, checks.maxDepth) : undefined;
  if (textual) throw new MatrixError(400, 'M_BAD_JSON', textual);
  return value;
}

export function bodyProblem(value: unknown, checks: BodyChecks): string | undefined {
  // Iterative, so that a hostile depth cannot overflow this check itself.
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'number') {
      if (checks.canonicalNumbers) {
        if (!Number.isInteger(v)) return `number ${v} is not an integer`;
        if (v > MAX_SAFE_INTEGER || v < -MAX_SAFE_INTEGER) return `integer ${v} is outside the range canonical JSON allows`;
      }
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= checks.maxDepth) return `JSON is nested deeper than ${checks.maxDepth} levels`;
    if (Array.isArray(v)) {
      for (const x of v) stack.push([x, depth + 1]);
    } else {
      for (const k of Object.keys(v)) {
        if (k === '__proto__') return 'JSON object keys may not be __proto__';
        stack.push([(v as Record<string, unknown>)[k], depth + 1]);
      }
    }
  }
  return undefined;
}
