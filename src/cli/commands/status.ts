/** `neurite status`: asks the supervisor's control socket how every process is doing. */
import { dataPaths } from '../../platform/config/paths.js';
import { controlRequest, noSupervisor } from '../../supervisor/control-http.js';
import type { SupervisorStatus } from '../../supervisor/supervisor.js';
import { parseCommandArgs, requireString } from '../args.js';

export async function fetchStatus(controlSocket: string): Promise<SupervisorStatus | undefined> {
  const a = await controlRequest(controlSocket, 'GET', '/status', { timeoutMs: 5000 }).catch((e: unknown) => {
    if (noSupervisor(e)) return undefined;
    throw e;
  });
  if (!a) return undefined;
  if (a.json === undefined) throw new Error(`the supervisor answered ${a.status} without JSON`);
  return a.json as SupervisorStatus;
}

const mb = (kb: number | undefined) => (kb === undefined || Number.isNaN(kb) ? '-' : `${(kb / 1024).toFixed(1)}`);
const dur = (ms: number) => (ms <= 0 ? '-' : ms < 120_000 ? `${Math.round(ms / 1000)}s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)}m` : `${Math.round(ms / 3_600_000)}h`);

export function formatStatus(s: SupervisorStatus): string {
  const lines = [
    `Neurite ${s.version} on ${s.data_dir}${s.configured ? ` (${s.server_name})` : ' (not configured: setup only)'}`,
    `supervisor pid ${s.supervisor.pid}, up ${dur(s.supervisor.uptime_ms)}, PSS ${mb(s.supervisor.memory?.pss_kb)} MB${s.run_as ? `; processes run as ${s.run_as}` : ''}`,
    '',
    ['PROCESS', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'RSS MB', 'PSS MB', 'COMPONENTS'].join('\t'),
  ];
  let pss = s.supervisor.memory?.pss_kb ?? 0;
  for (const p of s.processes) {
    pss += p.memory?.pss_kb ?? 0;
    lines.push([p.name, p.state, p.pid ?? '-', dur(p.uptime_ms), p.restarts, mb(p.memory?.rss_kb), mb(p.memory?.pss_kb), p.components.join(',')].join('\t'));
  }
  lines.push('', `total PSS ${mb(pss)} MB`);
  return lines.join('\n') + '\n';
}

export async function statusCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { 'data-dir': { type: 'string' }, json: { type: 'boolean' } });
  const paths = dataPaths(requireString(values['data-dir'], '--data-dir'));
  const status = await fetchStatus(paths.controlSocket);
  if (!status) {
    process.stderr.write(`neurite: not running on ${paths.dataDir}\n`);
    return 3;
  }
  process.stdout.write(values.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status));
  const unhealthy = status.processes.some((p) => p.state !== 'running');
  return unhealthy ? 1 : 0;
}
