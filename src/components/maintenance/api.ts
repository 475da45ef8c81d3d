/**
 * Maintenance: scheduled jobs (croner) with their last results, and the
 * board's health history the dashboard charts.
 */
import { defineApi, type CallContext } from '../../platform/ipc/define.js';
import type { HealthSample } from '../../platform/system/health.js';

export type { HealthSample };

export interface JobRun {
  started_at: number;
  finished_at: number;
  ok: boolean;
  /** One line on what it did, or why it failed. */
  summary: string;
  trigger: 'schedule' | 'manual';
}

export interface JobInfo {
  name: string;
  description: string;
  /** A cron expression (minute hour day month weekday, optionally seconds first). */
  schedule: string;
  next_run: number | null;
  running: boolean;
  last_run: JobRun | null;
}

export interface MaintenanceAPI {
  listJobs(req: Record<string, never>, ctx?: CallContext): Promise<{ jobs: JobInfo[] }>;
  /** Runs a job now and answers with its result; 404 M_NOT_FOUND for an unknown job, 409 when it is running already. */
  runJob(req: { name: string }, ctx?: CallContext): Promise<JobRun>;
  /** Health samples from `since` (epoch ms) on, oldest first; kept for 24 hours. */
  healthSamples(req: { since?: number }, ctx?: CallContext): Promise<{ samples: HealthSample[] }>;
}

export const maintenanceApi = defineApi<MaintenanceAPI>('maintenance', {
  listJobs: { idempotent: true },
  runJob: { timeoutMs: 300_000 },
  healthSamples: { idempotent: true },
});
