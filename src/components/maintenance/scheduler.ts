/**
 * Runs the jobs on their cron schedules (croner) and on demand, one run of a
 * job at a time, and records each run's result.
 *
 * croner, not node-cron: node-cron reads every date through
 * `Intl.DateTimeFormat`, and ICU's data it pulls in cost the process that
 * runs the jobs about 7 MB (docs/design.md, "Memory"). croner uses `Date`'s
 * local-time methods unless a job names a time zone, which none does; its
 * timer also looks again every 30 s, so a board whose clock is set by NTP
 * after boot still runs each job at the right time.
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import { MatrixError } from '../../core/errors.js';
import type { JobInfo, JobRun } from './api.js';
import type { JobContext, JobDefinition } from './jobs/types.js';
import type { MaintenanceStorage } from './storage.js';

interface Entry {
  def: JobDefinition;
  task?: Cron;
  running?: Promise<JobRun>;
}

/** Five fields, or six with seconds first: what `JobDefinition.schedule` says. */
const SCHEDULE_MODE = '5-or-6-parts';

export function isValidSchedule(schedule: string): boolean {
  try {
    new Cron(schedule, { paused: true, mode: SCHEDULE_MODE });
    return true;
  } catch {
    return false;
  }
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly abort = new AbortController();

  constructor(
    jobs: JobDefinition[],
    private readonly jc: Omit<JobContext, 'signal'>,
    private readonly storage: MaintenanceStorage,
    private readonly logger: Logger,
  ) {
    for (const def of jobs) {
      if (!isValidSchedule(def.schedule)) throw new Error(`job ${def.name}: invalid schedule ${def.schedule}`);
      this.entries.set(def.name, { def });
    }
  }

  start(): void {
    for (const e of this.entries.values()) {
      e.task = new Cron(e.def.schedule, { mode: SCHEDULE_MODE, protect: true }, async () => {
        await this.run(e.def.name, 'schedule').catch(() => undefined);
      });
    }
  }

  run(name: string, trigger: JobRun['trigger']): Promise<JobRun> {
    const e = this.entries.get(name);
    if (!e) return Promise.reject(new MatrixError(404, 'M_NOT_FOUND', `There is no job called ${name}`));
    if (e.running) {
      if (trigger === 'manual') return Promise.reject(new MatrixError(409, 'M_UNKNOWN', `The job ${name} is running already`));
      return e.running;
    }
    const started = Date.now();
    e.running = (async () => {
      let run: JobRun;
      try {
        const summary = await e.def.run({ ...this.jc, signal: this.abort.signal });
        run = { started_at: started, finished_at: Date.now(), ok: true, summary, trigger };
        this.logger.info({ job: name, ms: run.finished_at - started }, summary);
      } catch (err) {
        run = { started_at: started, finished_at: Date.now(), ok: false, summary: (err as Error).message, trigger };
        this.logger.warn({ job: name, err: (err as Error).message }, 'job failed');
      }
      if (!this.abort.signal.aborted) await this.storage.saveRun(name, run).catch(() => undefined);
      return run;
    })().finally(() => {
      e.running = undefined;
    });
    return e.running;
  }

  async list(): Promise<JobInfo[]> {
    return Promise.all(
      [...this.entries.values()].map(async (e) => ({
        name: e.def.name,
        description: e.def.description,
        schedule: e.def.schedule,
        next_run: e.task?.nextRun()?.getTime() ?? null,
        running: e.running !== undefined,
        last_run: (await this.storage.lastRun(e.def.name)) ?? null,
      })),
    );
  }

  /** Stops the schedules and waits for runs in flight (their jobs see the abort). */
  async stop(): Promise<void> {
    for (const e of this.entries.values()) e.task?.stop();
    this.abort.abort();
    await Promise.all([...this.entries.values()].map((e) => e.running?.catch(() => undefined)));
  }
}
