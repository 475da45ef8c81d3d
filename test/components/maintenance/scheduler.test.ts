/**
 * The maintenance scheduler over a real LevelDB: which schedules it
 * accepts, that a job runs on its schedule by itself and never twice at
 * once, what `next_run` says, manual runs, and a stop that aborts a job in
 * flight. Also that it never formats a date through `Intl`: ICU's data
 * costs the process that runs the jobs about 7 MB (docs/design.md, "Memory").
 */
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { JOBS } from '../../../src/components/maintenance/jobs/index.js';
import type { JobContext, JobDefinition } from '../../../src/components/maintenance/jobs/types.js';
import { isValidSchedule, Scheduler } from '../../../src/components/maintenance/scheduler.js';
import { MaintenanceStorage } from '../../../src/components/maintenance/storage.js';
import { Database } from '../../../src/platform/storage/database.js';
import { tempDir, waitFor } from '../../helpers/server.js';

const db = await Database.open(join(tempDir(), 'maintenance-db'));
t.teardown(() => db.close());
const storage = new MaintenanceStorage(db);
const logger = pino({ level: process.env.NEURITE_TEST_LOG ?? 'silent' });
// The jobs here never touch their context.
const jc = {} as Omit<JobContext, 'signal'>;

// Any date formatted through Intl from here on fails the test that caused it.
const intlCalls: string[] = [];
const RealDateTimeFormat = Intl.DateTimeFormat;
Intl.DateTimeFormat = function (...args: unknown[]) {
  intlCalls.push(new Error().stack ?? 'Intl.DateTimeFormat');
  return new RealDateTimeFormat(...(args as []));
} as unknown as typeof Intl.DateTimeFormat;
t.teardown(() => {
  Intl.DateTimeFormat = RealDateTimeFormat;
});

/** Waits (up to 5 s, else the test fails) until `done` holds. */
const until = (what: string, done: () => boolean | Promise<boolean>) => waitFor(what, async () => ((await done()) ? true : undefined), 5000);

t.test('schedules: five fields, or six with seconds; nothing else', async (t) => {
  for (const ok of ['*/5 * * * *', '17 4 * * *', '41 * * * *', '*/2 * * * * *', '0 30 2 * * SUN', '0 0 1 JAN *']) t.ok(isValidSchedule(ok), ok);
  for (const bad of ['', 'daily', '61 * * * *', '* 25 * * *', '* * * *', '0 0 0 * * * 2030', '*/0 * * * *']) t.notOk(isValidSchedule(bad), JSON.stringify(bad));
  for (const job of JOBS) t.ok(isValidSchedule(job.schedule), `the ${job.name} job's schedule is valid`);
  t.throws(() => new Scheduler([{ name: 'broken', description: '', schedule: '99 * * * *', run: async () => '' }], jc, storage, logger), /job broken: invalid schedule/);
});

t.test('next_run is the next matching local time', async (t) => {
  const s = new Scheduler([{ name: 'nightly', description: 'at 03:23', schedule: '23 3 * * *', run: async () => 'done' }], jc, storage, logger);
  t.same((await s.list())[0]!.next_run, null, 'not started: no next run');
  s.start();
  t.teardown(() => s.stop());
  const expected = new Date();
  expected.setSeconds(0, 0);
  if (expected.getHours() > 3 || (expected.getHours() === 3 && expected.getMinutes() >= 23)) expected.setDate(expected.getDate() + 1);
  expected.setHours(3, 23);
  const [job] = await s.list();
  t.equal(job!.next_run, expected.getTime(), `next run ${expected.toString()}`);
  t.match(job, { name: 'nightly', description: 'at 03:23', schedule: '23 3 * * *', running: false, last_run: null });
});

t.test('a job runs on its schedule, one run at a time, and a stop aborts it', async (t) => {
  let runs = 0;
  let release!: () => void;
  let sawAbort = false;
  const job: JobDefinition = {
    name: 'every-second',
    description: 'blocks until released',
    schedule: '* * * * * *',
    run: async ({ signal }) => {
      runs++;
      await new Promise<void>((resolve) => {
        release = resolve;
        signal.addEventListener('abort', () => {
          sawAbort = true;
          resolve();
        });
      });
      return `run ${runs}`;
    },
  };
  const s = new Scheduler([job], jc, storage, logger);
  s.start();
  await until('the first run', () => runs === 1);
  t.pass('the schedule started the job by itself');
  const [listed] = await s.list();
  t.equal(listed!.running, true, 'listed as running');
  t.ok(listed!.next_run! > Date.now() - 1000 && listed!.next_run! <= Date.now() + 1000, 'the next run is within a second');
  // Three more seconds match the schedule while the first run holds on.
  await new Promise((r) => setTimeout(r, 3000));
  t.equal(runs, 1, 'no second run while the first is in progress');
  await t.rejects(s.run('every-second', 'manual'), { name: 'MatrixError', status: 409, errcode: 'M_UNKNOWN' }, 'a manual run meanwhile is refused');
  await t.rejects(s.run('no-such-job', 'manual'), { name: 'MatrixError', status: 404, errcode: 'M_NOT_FOUND' }, 'an unknown job');

  release();
  await until('the run to be recorded', async () => (await storage.lastRun('every-second'))?.summary === 'run 1');
  t.match(await storage.lastRun('every-second'), { ok: true, trigger: 'schedule' });
  await until('the second run', () => runs === 2);
  t.pass('the next second runs it again');
  await s.stop();
  t.ok(sawAbort, 'the stop aborted the run in flight');
  const after = runs;
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(runs, after, 'nothing runs after the stop');
});

t.test('a failing job is recorded as failed and still runs next time', async (t) => {
  let runs = 0;
  const s = new Scheduler([{ name: 'flaky', description: '', schedule: '* * * * * *', run: async () => {
    runs++;
    throw new Error(`failure ${runs}`);
  } }], jc, storage, logger);
  s.start();
  t.teardown(() => s.stop());
  await until('a second run', () => runs >= 2);
  t.pass('scheduled again after a failure');
  t.match(await storage.lastRun('flaky'), { ok: false, summary: /^failure \d$/, trigger: 'schedule' });
  const manual = await s.run('flaky', 'manual');
  t.match(manual, { ok: false, trigger: 'manual', summary: /^failure \d$/ });
});

// Last: everything above validated, scheduled, listed and ran jobs.
t.test('no date went through Intl.DateTimeFormat', async (t) => {
  t.same(intlCalls, []);
});
