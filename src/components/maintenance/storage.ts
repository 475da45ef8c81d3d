/**
 * Maintenance's database: each job's last run, the health samples of the
 * last 24 hours (one every five minutes: about 290 small records), and what
 * the admins have been told by server notice.
 */
import type { Database } from '../../platform/storage/database.js';
import { encodeKey, prefixRange } from '../../platform/storage/keys.js';
import type { HealthSample, JobRun } from './api.js';

export const SAMPLE_KEEP_MS = 24 * 3600_000;

export class MaintenanceStorage {
  constructor(private readonly db: Database) {}

  lastRun(job: string): Promise<JobRun | undefined> {
    return this.db.get<JobRun>(encodeKey('run', job));
  }

  saveRun(job: string, run: JobRun): Promise<void> {
    // Losing a run record to a power cut costs nothing: no sync.
    return this.db.put(encodeKey('run', job), run, { durable: false });
  }

  /** Whether the admins were already told of this (an update available, say). */
  async told(key: string): Promise<boolean> {
    return (await this.db.get<number>(encodeKey('told', key))) !== undefined;
  }

  markTold(key: string): Promise<void> {
    return this.db.put(encodeKey('told', key), Date.now(), { durable: true });
  }

  /** Adds a sample and drops those older than a day, in one batch. */
  async addSample(s: HealthSample): Promise<number> {
    const old = await this.db.keys({ gt: prefixRange('sample').gt, lt: encodeKey('sample', s.ts - SAMPLE_KEEP_MS) });
    await this.db.write([{ type: 'put', key: encodeKey('sample', s.ts), value: s }, ...old.map((key) => ({ type: 'del' as const, key }))], { durable: false });
    return old.length;
  }

  async samples(since: number): Promise<HealthSample[]> {
    const from = Math.max(since, Date.now() - SAMPLE_KEEP_MS);
    return (await this.db.entries<HealthSample>({ gte: encodeKey('sample', from), lt: prefixRange('sample').lt })).map(([, v]) => v);
  }
}
