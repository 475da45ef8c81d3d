/**
 * Access tokens the ClientAPI has just seen, when the UserAPI runs in
 * another process. Without it every authenticated request asked the
 * UserAPI over its socket who the token belongs to: in split, about a fifth
 * of what a send costs.
 *
 * An answer is kept for TTL_MS at most, and never past the token's expiry.
 * The UserAPI calls `forgetTokens` (api.ts) whenever it revokes a token or
 * changes what a token's owner may do (logout, device deletion, password
 * change, deactivation, refresh, admin flags, moderation), from wherever
 * the change came (a client, the dashboard, the command line), and answers
 * the call that made the change only after that: a revoked token stops
 * working here at once. A lookup that overlapped the forgetting keeps
 * nothing.
 */
import type { Client } from '../../platform/ipc/directory.js';
import type { TokenAnswer, UserAPI } from '../userapi/api.js';

const TTL_MS = 1000;
const MAX_ENTRIES = 1024;

type TokenQuery = Parameters<UserAPI['queryAccessToken']>[0];

export class TokenCache {
  private readonly answers = new Map<string, { answer: TokenAnswer; until: number }>();
  /** Bumped whenever answers are forgotten: a lookup that overlapped that keeps nothing. */
  private generation = 0;

  constructor(
    private readonly userapi: Client<UserAPI>,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = TTL_MS,
  ) {}

  async queryAccessToken(req: TokenQuery): Promise<TokenAnswer> {
    const now = this.now();
    const kept = this.answers.get(req.token);
    if (kept && now < kept.until) return kept.answer;
    if (kept) this.answers.delete(req.token);
    const generation = this.generation;
    const answer = await this.userapi.queryAccessToken(req);
    // Unknown, revoked and expired tokens are always asked about again.
    if (answer.owner && generation === this.generation) {
      const until = Math.min(now + this.ttlMs, answer.expires_at ?? Infinity);
      if (until > now) {
        this.answers.set(req.token, { answer, until });
        if (this.answers.size > MAX_ENTRIES) this.answers.delete(this.answers.keys().next().value!);
      }
    }
    return answer;
  }

  forgetAll(): void {
    this.generation++;
    this.answers.clear();
  }
}
