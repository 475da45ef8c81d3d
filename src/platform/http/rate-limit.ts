/**
 * Token buckets keyed by user or address. A request over its limit gets
 * M_LIMIT_EXCEEDED with retry_after_ms, the time until a token is back.
 */
import { MatrixError } from '../../core/errors.js';

export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: how many requests may come at once. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token for key; returns 0 when allowed, otherwise the milliseconds to wait. */
  take(key: string, cost = 1): number {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= 100_000) this.sweep(t);
      b = { tokens: this.limit.burst, at: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.limit.burst, b.tokens + ((t - b.at) / 1000) * this.limit.perSecond);
      b.at = t;
    }
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return 0;
    }
    return Math.ceil(((cost - b.tokens) / this.limit.perSecond) * 1000);
  }

  /** Throws M_LIMIT_EXCEEDED when key is over its limit. */
  check(key: string, cost = 1): void {
    const wait = this.take(key, cost);
    if (wait > 0) throw new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too many requests', { retry_after_ms: wait });
  }

  /** Forgets full buckets so an address scan cannot grow memory without bound. */
  private sweep(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.limit.perSecond >= this.limit.burst) this.buckets.delete(k);
    }
  }
}
