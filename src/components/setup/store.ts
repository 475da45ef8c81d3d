/**
 * The wizard's memory on disk, `<data-dir>/setup/state.json` (mode 0600):
 * where the wizard is, what was entered so far (never a password), the
 * wrong-code count, the setup sessions and the dashboard's sessions (by the
 * hash of their cookie), so that a browser reload, a power cut and the
 * switch to the configured server all resume where the person was. Written
 * atomically (temporary file, fsync, rename).
 *
 * `pending.json` holds what only the running homeserver can do (the first
 * admin account, the first registration token) between writing the
 * configuration and the UserAPI's first start; it is deleted once done.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../platform/storage/atomic-file.js';
import type { GuessState } from './code.js';
import type { Draft } from './wizard/validate.js';

export type Phase = 'wizard' | 'applying' | 'complete';

export interface StoredSession {
  csrf: string;
  expires_at: number;
}

/** A dashboard session as kept on disk, so that a restart (an update, a power cut) does not sign the admin out. */
export interface StoredAdminSession {
  csrf: string;
  user_id: string;
  device_id: string;
  /** The dashboard device's token: the session is checked against the UserAPI with it on every request. */
  access_token: string;
  created: number;
  last_seen: number;
}

export interface SetupState {
  phase: Phase;
  draft: Draft;
  /** Steps whose input passed validation, in order. */
  done_steps: string[];
  guesses: GuessState;
  /** sha256(session id) → setup session. */
  sessions: Record<string, StoredSession>;
  /** sha256(session id) → dashboard session. */
  admin_sessions: Record<string, StoredAdminSession>;
  /** Why the last apply or finish failed, in words. */
  error?: string;
  complete?: { admin: string; token?: string; at: number };
}

export interface Pending {
  admin: { username: string; password: string };
  /** Chosen before the switch, so that a retried finish does not make a second one. */
  token?: { token: string; uses_allowed: number | null; expiry_time: number | null };
}

const initial = (): SetupState => ({ phase: 'wizard', draft: {}, done_steps: [], guesses: { failures: 0, locked_until: 0 }, sessions: {}, admin_sessions: {} });

export class SetupStore {
  readonly dir: string;
  private state: SetupState;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'setup');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.state = this.read();
  }

  private get file(): string {
    return join(this.dir, 'state.json');
  }

  private read(): SetupState {
    if (!existsSync(this.file)) return initial();
    try {
      return { ...initial(), ...(JSON.parse(readFileSync(this.file, 'utf8')) as Partial<SetupState>) };
    } catch {
      // A torn file cannot happen (atomic rename); an edited one starts the wizard again, the guess limit kept strict.
      return { ...initial(), guesses: { failures: 1000, locked_until: 0 } };
    }
  }

  get(): Readonly<SetupState> {
    return this.state;
  }

  /** Whether this data directory has a wizard on record (a directory made by `neurite init` has none). */
  get exists(): boolean {
    return existsSync(this.file);
  }

  update(change: (s: SetupState) => SetupState | void): SetupState {
    const copy = structuredClone(this.state);
    this.state = change(copy) ?? copy;
    writeFileAtomic(this.file, JSON.stringify(this.state), 0o600);
    return this.state;
  }

  readPending(): Pending | undefined {
    const f = join(this.dir, 'pending.json');
    if (!existsSync(f)) return undefined;
    return JSON.parse(readFileSync(f, 'utf8')) as Pending;
  }

  writePending(p: Pending): void {
    writeFileAtomic(join(this.dir, 'pending.json'), JSON.stringify(p), 0o600);
  }

  clearPending(): void {
    rmSync(join(this.dir, 'pending.json'), { force: true });
  }
}
