/**
 * The last part of setup, run by the configured server's setup component:
 * the first admin account and registration token, which need the UserAPI,
 * from what the wizard left in `pending.json`. Safe to run again after a
 * power cut at any point: an account that exists with the same password is
 * taken as made, and the token was chosen before, so it is made only once.
 */
import type { Logger } from 'pino';
import { MatrixError } from '../../core/errors.js';
import type { Client } from '../../platform/ipc/directory.js';
import type { UserAPI } from '../userapi/api.js';
import { forgetCode } from './code.js';
import type { Sessions } from './sessions.js';
import type { SetupStore } from './store.js';

export type FinishState = { state: 'idle' | 'running' | 'done' } | { state: 'failed'; error: string };

export class Finisher {
  current: FinishState = { state: 'idle' };

  constructor(
    private readonly deps: { dataDir: string; serverName: string; store: SetupStore; sessions: Sessions; users: Client<UserAPI>; logger: Logger },
  ) {}

  /** Starts (or restarts after a failure) unless running or done. */
  start(): void {
    if (this.current.state === 'running' || this.current.state === 'done') return;
    this.current = { state: 'running' };
    this.run().then(
      () => {
        this.current = { state: 'done' };
      },
      (e: unknown) => {
        const error = e instanceof MatrixError ? e.message : `The account service did not answer (${(e as Error).message}). Try again.`;
        this.deps.logger.error({ err: error }, 'setup could not be finished');
        this.current = { state: 'failed', error };
      },
    );
  }

  private async run(): Promise<void> {
    const { store, users } = this.deps;
    const pending = store.readPending();
    if (!pending) throw new MatrixError(500, 'M_UNKNOWN', 'The wizard’s account details are missing; start over from the dashboard sign-in with `neurite user add`.');
    let userId: string;
    try {
      userId = (await users.createAccount({ username: pending.admin.username, password: pending.admin.password, admin: true }, { timeoutMs: 60_000 })).user_id;
    } catch (e) {
      if (!(e instanceof MatrixError) || e.errcode !== 'M_USER_IN_USE') throw e;
      // Made by an earlier run that was cut short, unless someone else took the name meanwhile.
      try {
        userId = (await users.checkPassword({ user: pending.admin.username, password: pending.admin.password })).user_id;
      } catch {
        throw new MatrixError(409, 'M_USER_IN_USE', `The user name ${pending.admin.username} was taken meanwhile. Create the administrator with \`neurite user add NAME --admin\`.`);
      }
    }
    if (pending.token) {
      const t = pending.token;
      const exists = await users.getRegistrationToken({ token: t.token }).then(
        () => true,
        (e: unknown) => {
          if (e instanceof MatrixError && e.status === 404) return false;
          throw e;
        },
      );
      if (!exists) await users.createRegistrationToken({ token: t.token, uses_allowed: t.uses_allowed, expiry_time: t.expiry_time });
    }
    store.update((s) => {
      s.phase = 'complete';
      s.complete = { admin: userId, ...(pending.token ? { token: pending.token.token } : {}), at: Date.now() };
      delete s.error;
      s.guesses = { failures: 0, locked_until: 0 };
    });
    store.clearPending();
    forgetCode(this.deps.dataDir);
    this.deps.logger.info({ admin: userId }, 'setup complete');
  }
}
