/**
 * Stream tokens. Opaque to clients; here "s" and a stream position: the
 * point just after that position. `next_batch`, `prev_batch`, and the
 * `start`/`end` tokens of /messages and /context are all of this one kind,
 * so any of them can be passed where another is expected.
 */
import { MatrixError } from '../../core/errors.js';

export function token(pos: number): string {
  return `s${pos}`;
}

/** The position of a token, or undefined when it is not one of ours. */
export function parseToken(t: string): number | undefined {
  const m = /^s(\d{1,15})$/.exec(t);
  return m ? Number(m[1]) : undefined;
}

/** For history endpoints: a token that is not ours is a client error. */
export function requireToken(t: string, name: string): number {
  const p = parseToken(t);
  if (p === undefined) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} is not a valid pagination token`);
  return p;
}
