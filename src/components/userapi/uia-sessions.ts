/**
 * User-interactive auth sessions: which flows a request offered, which
 * stages the client completed. The ClientAPI runs the protocol; the
 * sessions live here so that every ClientAPI process sees the same ones.
 *
 * They are kept in memory: a session lasts minutes, and after a restart the
 * client starts the flow again. Each session is bound to the request that
 * opened it (endpoint and user), so that stages completed for one request
 * cannot authorise another.
 */
import { MatrixError } from '../../core/errors.js';
import { newOpaqueId } from './tokens.js';

export interface UiaSession {
  id: string;
  bound: string;
  flows: string[][];
  params: Record<string, unknown>;
  completed: string[];
  expires_at: number;
  /** The registration token a completed m.login.registration_token stage reserved. */
  registration_token?: string;
  /**
   * The request it authorised succeeded with this answer: kept for a while
   * so that a client retrying the same request (it lost the answer) gets the
   * answer again, as the spec asks, instead of an error.
   */
  result?: unknown;
}

export const UIA_LIFETIME_MS = 30 * 60_000;
/** How long a finished session answers retries. */
export const UIA_REPLAY_MS = 5 * 60_000;
const MAX_SESSIONS = 10_000;

export class UiaSessions {
  private readonly sessions = new Map<string, UiaSession>();

  constructor(
    private readonly now: () => number,
    /** Called when a session holding a reserved registration token goes away unused. */
    private readonly onRelease: (token: string) => void,
  ) {}

  begin(bound: string, flows: string[][], params: Record<string, unknown>): UiaSession {
    this.sweep();
    if (this.sessions.size >= MAX_SESSIONS) this.drop(this.sessions.keys().next().value!);
    const s: UiaSession = { id: newOpaqueId(), bound, flows, params, completed: [], expires_at: this.now() + UIA_LIFETIME_MS };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The live session with this id opened for `bound`, or undefined. */
  get(id: string, bound: string): UiaSession | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expires_at <= this.now()) {
      this.drop(id);
      return undefined;
    }
    return s.bound === bound ? s : undefined;
  }

  require(id: string, bound: string): UiaSession {
    const s = this.get(id, bound);
    if (s) return s;
    // The spec: a session stays with the request it began for (the same operation, on the same things).
    const other = this.sessions.get(id);
    if (other && other.expires_at > this.now()) throw new MatrixError(403, 'M_FORBIDDEN', 'This authentication session was begun for another request');
    throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or expired auth session');
  }

  complete(id: string, bound: string, stage: string): string[] {
    const s = this.require(id, bound);
    if (!s.completed.includes(stage)) s.completed.push(stage);
    return s.completed;
  }

  /**
   * Ends a session whose request succeeded: a reserved token was used, not
   * released. With `result`, the session stays a few minutes to give that
   * answer to a retry; it completes nothing new meanwhile.
   */
  finish(id: string, result?: unknown): UiaSession | undefined {
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    if (s && result !== undefined) {
      const { registration_token: _used, ...rest } = s;
      this.sessions.set(id, { ...rest, result, expires_at: Math.min(s.expires_at, this.now() + UIA_REPLAY_MS) });
    }
    return s;
  }

  private drop(id: string): void {
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    if (s?.registration_token !== undefined) this.onRelease(s.registration_token);
  }

  /** Ends every expired session (releasing the registration tokens they held); says how many. */
  purgeExpired(): number {
    return this.sweep();
  }

  private sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [id, s] of this.sessions) {
      if (s.expires_at > now) continue;
      this.drop(id);
      n++;
    }
    return n;
  }
}
