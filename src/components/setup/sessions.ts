/**
 * Browser sessions on the setup port: a random id in an HttpOnly,
 * SameSite=Strict cookie, known to the server only as its hash, with a
 * CSRF token that every change must carry. Two kinds:
 * - `setup`: whoever entered the setup code; kept on disk (store.ts) so that
 *   it survives the switch to the configured server; 2 hours at most;
 * - `admin`: a Matrix admin signed in to the dashboard, with the access
 *   token of its own Matrix device; 30 minutes idle and 12 hours at most.
 *   Also kept on disk, so that a restart (an update applied from the
 *   dashboard, a power cut) neither signs the admin out nor leaves the
 *   session's device behind in their device list; the last activity is
 *   written at most once a minute.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SetupStore, StoredAdminSession, StoredSession } from './store.js';

export const COOKIE = 'neurite_session';
export const SETUP_LIFETIME_MS = 2 * 3600_000;
export const ADMIN_IDLE_MS = 30 * 60_000;
export const ADMIN_LIFETIME_MS = 12 * 3600_000;
/** How stale the last activity on disk may be: a restart may end a session up to this much early. */
const LAST_SEEN_WRITE_MS = 60_000;

export type AdminSession = StoredAdminSession & { kind: 'admin' };

export type SetupSession = StoredSession & { kind: 'setup' };

export type Session = AdminSession | SetupSession;

const hash = (id: string) => createHash('sha256').update(id).digest('base64url');
const newId = () => randomBytes(32).toString('base64url');

export function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function cookieValue(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

export class Sessions {
  private readonly admins = new Map<string, AdminSession>();

  constructor(
    private readonly store: SetupStore,
    private readonly now: () => number = Date.now,
  ) {
    for (const [h, stored] of Object.entries(store.get().admin_sessions)) this.admins.set(h, { kind: 'admin', ...stored });
  }

  private expiredAdmin(s: AdminSession, now: number): boolean {
    return now - s.last_seen > ADMIN_IDLE_MS || now - s.created > ADMIN_LIFETIME_MS;
  }

  /** Writes the admin sessions as they are in memory. */
  private saveAdmins(): void {
    const onDisk: Record<string, StoredAdminSession> = {};
    for (const [h, { kind: _kind, ...stored }] of this.admins) onDisk[h] = stored;
    this.store.update((st) => void (st.admin_sessions = onDisk));
  }

  /** The request's live session, if any (an expired admin session waits for prune(), which deletes its device). */
  get(req: FastifyRequest): Session | undefined {
    const id = cookieValue(req);
    if (!id || id.length > 100) return undefined;
    const h = hash(id);
    const now = this.now();
    const admin = this.admins.get(h);
    if (admin) {
      // An expired session stays listed until the maintenance job's prune, which also deletes its device.
      if (this.expiredAdmin(admin, now)) return undefined;
      admin.last_seen = now;
      if (now - (this.store.get().admin_sessions[h]?.last_seen ?? 0) >= LAST_SEEN_WRITE_MS) this.saveAdmins();
      return admin;
    }
    const stored = this.store.get().sessions[h];
    if (stored && stored.expires_at > now) return { kind: 'setup', csrf: stored.csrf, expires_at: stored.expires_at };
    return undefined;
  }

  startSetup(reply: FastifyReply): SetupSession {
    const id = newId();
    const s: SetupSession = { kind: 'setup', csrf: newId(), expires_at: this.now() + SETUP_LIFETIME_MS };
    this.store.update((st) => {
      st.sessions = Object.fromEntries(Object.entries(st.sessions).filter(([, v]) => v.expires_at > this.now()));
      st.sessions[hash(id)] = { csrf: s.csrf, expires_at: s.expires_at };
    });
    this.setCookie(reply, id, SETUP_LIFETIME_MS);
    return s;
  }

  startAdmin(reply: FastifyReply, who: { user_id: string; device_id: string; access_token: string }): AdminSession {
    const id = newId();
    const now = this.now();
    const s: AdminSession = { kind: 'admin', csrf: newId(), ...who, created: now, last_seen: now };
    this.admins.set(hash(id), s);
    this.saveAdmins();
    this.setCookie(reply, id, ADMIN_LIFETIME_MS);
    return s;
  }

  /** Ends the request's session; returns it (the caller logs the Matrix device out). */
  end(req: FastifyRequest, reply: FastifyReply): Session | undefined {
    const id = cookieValue(req);
    reply.header('set-cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    if (!id) return undefined;
    const h = hash(id);
    const admin = this.admins.get(h);
    if (admin) {
      this.admins.delete(h);
      this.saveAdmins();
      return admin;
    }
    if (this.store.get().sessions[h]) this.store.update((st) => void delete st.sessions[h]);
    return undefined;
  }

  /** Every setup session ends (setup is complete). */
  endAllSetup(): void {
    if (Object.keys(this.store.get().sessions).length > 0) this.store.update((st) => void (st.sessions = {}));
  }

  /** Drops expired sessions (the maintenance job); returns how many, and the admin ones to log out. */
  prune(): { removed: number; expired: AdminSession[] } {
    const now = this.now();
    const expired: AdminSession[] = [];
    for (const [h, s] of this.admins) {
      if (this.expiredAdmin(s, now)) {
        this.admins.delete(h);
        expired.push(s);
      }
    }
    if (expired.length > 0) this.saveAdmins();
    const stale = Object.entries(this.store.get().sessions).filter(([, v]) => v.expires_at <= now);
    if (stale.length > 0) this.store.update((st) => void stale.forEach(([h]) => delete st.sessions[h]));
    return { removed: expired.length + stale.length, expired };
  }

  private setCookie(reply: FastifyReply, id: string, maxAgeMs: number): void {
    reply.header('set-cookie', `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}`);
  }
}

/** The CSRF token of a change: a form field or, from scripts, a header. */
export function csrfOk(req: FastifyRequest, session: Session): boolean {
  const body = req.body as Record<string, unknown> | undefined;
  const sent = (typeof body?.csrf === 'string' ? body.csrf : undefined) ?? (typeof req.headers['x-csrf-token'] === 'string' ? req.headers['x-csrf-token'] : undefined);
  return sent !== undefined && sent.length < 200 && sameSecret(sent, session.csrf);
}
