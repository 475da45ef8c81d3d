/**
 * Sync filters. A filter's id is derived from its canonical JSON, so a
 * client that uploads the same filter at every start (most do) gets the
 * same id and stores nothing new.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.js';
import { MatrixError } from '../../core/errors.js';
import type { UserServices } from './services.js';
import { keys, put } from './storage.js';

const MAX_FILTER_BYTES = 64 * 1024;

export class Filters {
  constructor(private readonly svc: UserServices) {}

  async put(userId: string, filter: Record<string, unknown>): Promise<string> {
    let text: string;
    try {
      text = canonicalJson(filter);
    } catch (e) {
      throw new MatrixError(400, 'M_BAD_JSON', `The filter is not canonical JSON: ${(e as Error).message}`);
    }
    if (Buffer.byteLength(text) > MAX_FILTER_BYTES) throw new MatrixError(413, 'M_TOO_LARGE', 'The filter is too large');
    // Never starts with "{": that is how inline filters are told apart.
    const filterId = createHash('sha256').update(text).digest('base64url').slice(0, 16);
    const key = keys.filter(userId, filterId);
    if (!(await this.svc.storage.db.has(key))) await this.svc.storage.db.write([put(key, filter)], { durable: true });
    return filterId;
  }

  async get(userId: string, filterId: string): Promise<Record<string, unknown> | null> {
    return (await this.svc.storage.filter(userId, filterId)) ?? null;
  }
}
