/**
 * The whole server as a user starts it (dist/neurite.js): time from `start`
 * until /versions answers, idle memory of every process (PSS, which counts
 * the shared Node binary once overall), and how soon a killed child serves
 * again; in monolith and split arrangements.
 */
import { pathToFileURL } from 'node:url';
import { cli, initServer, removeDataDir, startServer, versionsAnswer, waitFor } from '../../test/helpers/server.js';
import type { BenchResult } from './result.js';

/**
 * Idle memory is read twice: 5 s after every process is running, and once
 * V8's memory reducer has run in every process. It runs once a process's
 * allocation rate has been low for a while: about 8 s after start in the
 * background processes (\`--optimize-for-size\`), 15–35 s in the busy ones,
 * whose start-up allocates more (split, sampled every 5 s: 242 MB at 5 s,
 * 213 at 15 s, 201 at 20 s, 194–196 from 35 s to 60 s). The budget applies
 * to the settled figure, the state an idle server stays in.
 */
const JUST_STARTED_MS = 5000;
const SETTLED_MS = 60_000;

interface Status {
  supervisor: { memory?: { pss_kb: number } };
  processes: { name: string; pid?: number; state: string; memory?: { pss_kb: number; rss_kb: number } }[];
}

function totalPss(s: Status): number {
  return (s.supervisor.memory?.pss_kb ?? 0) + s.processes.reduce((a, p) => a + (p.memory?.pss_kb ?? 0), 0);
}

function status(dataDir: string): Status {
  return JSON.parse(cli(['status', '--data-dir', dataDir, '--json']).stdout) as Status;
}

async function arrangement(mode: 'monolith' | 'split'): Promise<BenchResult[]> {
  const { dataDir, ports } = await initServer({ mode });
  const starts: number[] = [];
  let results: BenchResult[] = [];
  try {
    // Three cold starts; the median is reported.
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const server = await startServer(dataDir, { clientPort: ports.client });
      starts.push(performance.now() - t0);
      if (i < 2) {
        await server.stop();
        continue;
      }
      await waitFor('all processes running', async () => (status(dataDir).processes.every((p) => p.state === 'running') ? true : undefined));
      await new Promise((r) => setTimeout(r, JUST_STARTED_MS));
      const early = totalPss(status(dataDir));
      await new Promise((r) => setTimeout(r, SETTLED_MS - JUST_STARTED_MS));
      const s = status(dataDir);
      const perProcess = s.processes.map((p) => `${p.name} ${((p.memory?.pss_kb ?? 0) / 1024).toFixed(1)}`).join(', ');
      const total = totalPss(s);

      const victim = s.processes.find((p) => p.name === (mode === 'split' ? 'clientapi' : 'neurite'))!;
      const k0 = performance.now();
      process.kill(victim.pid!, 'SIGKILL');
      await waitFor('the killed process to be replaced', async () => (status(dataDir).processes.find((p) => p.name === victim.name)?.pid !== victim.pid ? true : undefined));
      await waitFor('/versions again', () => versionsAnswer(ports.client));
      const back = performance.now() - k0;
      await server.stop();

      starts.sort((a, b) => a - b);
      results = [
        {
          name: `start → /versions answers (${mode})`,
          value: Math.round(starts[1]!),
          unit: 'ms',
          budget: { op: '<=', value: mode === 'monolith' ? 1000 : 2500 },
          note: `median of 3, includes Node start of ${s.processes.length + 1} processes`,
        },
        {
          name: `memory 5 s after start, sum of PSS (${mode})`,
          value: Math.round(early / 1024),
          unit: 'MB',
          note: 'before V8 has trimmed what starting up left behind',
        },
        {
          name: `idle memory, sum of PSS (${mode})`,
          value: Math.round(total / 1024),
          unit: 'MB',
          budget: { op: '<=', value: mode === 'monolith' ? 80 : 200 },
          note: `${SETTLED_MS / 1000} s after start: supervisor ${((s.supervisor.memory?.pss_kb ?? 0) / 1024).toFixed(1)}, ${perProcess}`,
        },
        { name: `SIGKILL of ${victim.name} → /versions answers again (${mode})`, value: Math.round(back), unit: 'ms', note: 'target 2000 ms' },
      ];
    }
  } finally {
    removeDataDir(dataDir);
  }
  return results;
}

export async function run(): Promise<BenchResult[]> {
  return [...(await arrangement('monolith')), ...(await arrangement('split'))];
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(`${r.name}: ${r.value} ${r.unit}${r.note ? ` (${r.note})` : ''}`);
}
