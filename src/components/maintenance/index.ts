/**
 * Maintenance: the scheduled jobs (croner) and the health history. A
 * first health sample is taken at start, so that the dashboard's charts
 * have a point before the first five minutes are up.
 */
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { maintenanceApi } from './api.js';
import { JOBS } from './jobs/index.js';
import { Scheduler } from './scheduler.js';
import { MaintenanceStorage } from './storage.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  // A few hundred small records: the smallest cache will do.
  const db = await ctx.openDatabase({ cacheSize: 256 * 1024, writeBufferSize: 256 * 1024, maxOpenFiles: 16 });
  const storage = new MaintenanceStorage(db);
  const scheduler = new Scheduler(JOBS, { ctx, storage }, storage, ctx.logger);
  scheduler.start();
  ctx.onStop(() => scheduler.stop());
  void scheduler.run('health-sampling', 'schedule').catch(() => undefined);

  ctx.apis.provide(maintenanceApi, {
    listJobs: async () => ({ jobs: await scheduler.list() }),
    runJob: async (req) => scheduler.run(String(req?.name ?? ''), 'manual'),
    healthSamples: async (req) => ({ samples: await storage.samples(typeof req?.since === 'number' ? req.since : 0) }),
  });
  return { health: async () => ({ jobs: (await scheduler.list()).map((j) => ({ name: j.name, ok: j.last_run?.ok ?? null })) }) };
}
