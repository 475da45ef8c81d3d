/**
 * Access tokens a component with client routes has just seen, when the
 * UserAPI runs in another process. Without it every authenticated request
 * asked the UserAPI over its socket who the token belongs to: in split,
 * about a fifth of what a send costs, and a round trip for every /sync.
 *
 * An answer is kept for TTL_MS at most, and never past the token's expiry.
 * The UserAPI calls `forgetTokens` on every component in TOKEN_CACHES that
 * runs in another process whenever it revokes a token or changes what a
 * token's owner may do (logout, device deletion, password change,
 * deactivation, refresh, admin flags, moderation), from wherever the change
 * came (a client, the admin API, the dashboard, the command line), and only
 * then answers the call that made the change: a revoked token stops
 * working everywhere at once. A lookup that overlapped the forgetting keeps
 * nothing.
 */
import type { ComponentName } from '../config/components.js';
import { defineApi, type ApiDescriptor, type CallContext } from '../ipc/define.js';
import type { ApiDirectory } from '../ipc/directory.js';
import type { TokenAnswer, TokenCheck } from './auth.js';

const TTL_MS = 1000;
const MAX_ENTRIES = 1024;

/** The components that may keep token answers: the UserAPI tells each of them to forget. */
export const TOKEN_CACHES: readonly ComponentName[] = ['clientapi', 'syncapi', 'mediaapi'];

/** What the UserAPI calls on a component that keeps token answers (namespace `tokens`). */
export interface ForgetTokensAPI {
  forgetTokens(req: Record<string, never>, ctx?: CallContext): Promise<void>;
}

const descriptors = new Map<ComponentName, ApiDescriptor<ForgetTokensAPI>>();

// A component that is restarting keeps nothing: the UserAPI waits for it no longer than this.
export function forgetTokensApi(component: ComponentName): ApiDescriptor<ForgetTokensAPI> {
  let d = descriptors.get(component);
  if (!d) descriptors.set(component, (d = defineApi<ForgetTokensAPI>(component, { forgetTokens: { idempotent: true, timeoutMs: 1000 } }, 'tokens')));
  return d;
}

export class TokenCache {
  private readonly answers = new Map<string, { answer: TokenAnswer; until: number }>();
  /** Bumped whenever answers are forgotten: a lookup that overlapped that keeps nothing. */
  private generation = 0;

  constructor(
    private readonly check: TokenCheck,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = TTL_MS,
  ) {}

  readonly query: TokenCheck = async (req) => {
    const now = this.now();
    const kept = this.answers.get(req.token);
    if (kept && now < kept.until) return kept.answer;
    if (kept) this.answers.delete(req.token);
    const generation = this.generation;
    const answer = await this.check(req);
    // Unknown, revoked and expired tokens are always asked about again.
    if (answer.owner && generation === this.generation) {
      const until = Math.min(now + this.ttlMs, answer.expires_at ?? Infinity);
      if (until > now) {
        this.answers.set(req.token, { answer, until });
        if (this.answers.size > MAX_ENTRIES) this.answers.delete(this.answers.keys().next().value!);
      }
    }
    return answer;
  };

  forgetAll(): void {
    this.generation++;
    this.answers.clear();
  }
}

/**
 * The token check a component's routes use: the UserAPI's own when it runs
 * in this process (its cache is exact there), else a TokenCache that this
 * component offers to have forgotten.
 */
export function tokenCheckFor(ctx: { name: ComponentName; apis: ApiDirectory }, check: TokenCheck): TokenCheck {
  if (runsHereOrNowhere(ctx.apis, 'userapi')) return check;
  if (!TOKEN_CACHES.includes(ctx.name)) throw new Error(`${ctx.name} is not in TOKEN_CACHES: the UserAPI would never tell it to forget`);
  const cache = new TokenCache(check);
  ctx.apis.provide(forgetTokensApi(ctx.name), { forgetTokens: async () => cache.forgetAll() });
  return cache.query;
}

/** Whether a component runs in this process, or in no process of this layout (then nothing is kept for it). */
export function runsHereOrNowhere(apis: ApiDirectory, component: ComponentName): boolean {
  try {
    return apis.runsHere({ component });
  } catch {
    return true;
  }
}
