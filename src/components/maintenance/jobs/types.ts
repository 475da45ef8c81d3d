/** What a scheduled job is: a name, a cron schedule and a function that says in one line what it did. */
import type { ComponentContext } from '../../../platform/runtime/component.js';
import type { MaintenanceStorage } from '../storage.js';

export interface JobContext {
  ctx: ComponentContext;
  storage: MaintenanceStorage;
  /** Aborted when the component stops. */
  signal: AbortSignal;
}

export interface JobDefinition {
  name: string;
  description: string;
  /** Cron syntax, local time: `[second] minute hour day-of-month month day-of-week`. */
  schedule: string;
  /** Resolves with a one-line summary; throws when the job failed (the message is shown). */
  run(jc: JobContext): Promise<string>;
}
