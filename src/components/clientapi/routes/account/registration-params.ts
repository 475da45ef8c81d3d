/**
 * What a registration's first request asked for, kept by its UIA session:
 * a retry that carries only `auth` (after a stage completed elsewhere, as
 * the spec allows for out-of-band stages; SyTest's "registration remembers
 * parameters") registers what the first request named, as Synapse does. A
 * retry's own fields win. Kept in this process's memory only, for as long
 * as a UIA session lives: the password in it never touches the disk, and a
 * restart forgets it (the client then sends its fields again).
 */
import type { Body } from './common.js';

const REMEMBERED = ['username', 'password', 'device_id', 'initial_device_display_name', 'inhibit_login', 'refresh_token'] as const;
const KEEP_MS = 30 * 60_000;
const MAX_SESSIONS = 1000;

export class RegistrationParams {
  private readonly bySession = new Map<string, { params: Body; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Remembers the registration fields of `body` for `session` (when it has any). */
  remember(session: string, body: Body): void {
    const params: Body = {};
    for (const k of REMEMBERED) if (body[k] !== undefined) params[k] = body[k];
    if (Object.keys(params).length === 0) return;
    const merged = { ...this.recall(session), ...params };
    // Deleted first so that it moves to the end: the map's order is then the order of expiry.
    this.bySession.delete(session);
    this.bySession.set(session, { params: merged, until: this.now() + KEEP_MS });
    // Oldest first: the map keeps insertion order.
    for (const [k, v] of this.bySession) {
      if (this.bySession.size <= MAX_SESSIONS && v.until > this.now()) break;
      this.bySession.delete(k);
    }
  }

  /** `body` with the fields its session's earlier requests named and it leaves out. */
  withRemembered(body: Body): Body {
    const session = (body.auth as { session?: unknown } | undefined)?.session;
    if (typeof session !== 'string') return body;
    return { ...this.recall(session), ...body };
  }

  private recall(session: string): Body {
    const kept = this.bySession.get(session);
    if (!kept || kept.until <= this.now()) return {};
    return kept.params;
  }
}
