/**
 * The board's health through systeminformation: the setup wizard's system
 * check, the dashboard's live figures and the maintenance job's samples.
 * systeminformation is imported on first use, so a process that never asks
 * does not carry it.
 */
import { loadavg, totalmem, uptime } from 'node:os';
import { resolve } from 'node:path';

type Si = typeof import('systeminformation');
let si: Promise<Si> | undefined;
const lib = (): Promise<Si> => (si ??= import('systeminformation').then((m) => ((m as { default?: Si }).default ?? m) as Si));

/** One sample: what the dashboard shows and charts. Sizes in bytes, rates in bytes/s. */
export interface HealthSample {
  ts: number;
  /** CPU use in percent since the previous sample (all cores). */
  cpu: number;
  load1: number;
  /** °C; null where the board has no sensor (virtual machines). */
  temp: number | null;
  mem_used: number;
  mem_total: number;
  disk_used: number;
  disk_total: number;
  uptime_s: number;
  net_rx: number;
  net_tx: number;
}

export interface DiskInfo {
  mount: string;
  size: number;
  available: number;
}

/** The filesystem that holds `path`: the longest mount point that is a prefix of it. */
export async function diskOf(path: string): Promise<DiskInfo | undefined> {
  const target = resolve(path);
  const all = await (await lib()).fsSize();
  let best: DiskInfo | undefined;
  for (const f of all) {
    const m = f.mount;
    if (!(target === m || target.startsWith(m.endsWith('/') ? m : `${m}/`))) continue;
    if (!best || m.length > best.mount.length) best = { mount: m, size: f.size, available: f.available };
  }
  return best;
}

export async function sampleHealth(dataDir: string): Promise<HealthSample> {
  const s = await lib();
  const [load, temp, mem, disk, net] = await Promise.all([
    s.currentLoad().catch(() => undefined),
    s.cpuTemperature().catch(() => undefined),
    s.mem(),
    diskOf(dataDir).catch(() => undefined),
    s.networkStats('*').catch(() => []),
  ]);
  const rate = (v: number | null | undefined) => (typeof v === 'number' && v > 0 ? v : 0);
  const realNet = net.filter((n) => n.iface !== 'lo');
  return {
    ts: Date.now(),
    cpu: Math.round((load?.currentLoad ?? 0) * 10) / 10,
    load1: Math.round(loadavg()[0]! * 100) / 100,
    temp: typeof temp?.main === 'number' && temp.main > 0 ? temp.main : null,
    // `available` counts the page cache as free, as `free` does; `used` would not.
    mem_used: mem.total - mem.available,
    mem_total: mem.total,
    disk_used: disk ? disk.size - disk.available : 0,
    disk_total: disk?.size ?? 0,
    uptime_s: Math.round(uptime()),
    net_rx: Math.round(realNet.reduce((a, n) => a + rate(n.rx_sec), 0)),
    net_tx: Math.round(realNet.reduce((a, n) => a + rate(n.tx_sec), 0)),
  };
}

export type Level = 'ok' | 'warn' | 'bad';

export interface CheckItem {
  label: string;
  value: string;
  level: Level;
  /** What to do about it, when it is not ok. */
  advice?: string;
}

export interface SystemCheck {
  model: string;
  items: CheckItem[];
  /** The process arrangement this memory calls for. */
  recommended: 'split' | 'monolith';
  recommendation: string;
}

const GB = 1024 ** 3;
const MB = 1024 ** 2;
export const formatBytes = (n: number): string => (n >= GB ? `${(n / GB).toFixed(1)} GB` : n >= MB ? `${Math.round(n / MB)} MB` : `${Math.round(n / 1024)} KB`);

/** Split needs about 200 MB for Neurite alone; below 1.5 GB the board is better off with one process. */
export function recommendArrangement(totalMemory: number): 'split' | 'monolith' {
  return totalMemory >= 1.5 * GB ? 'split' : 'monolith';
}

/** The wizard's first page: what this board is and whether it will do. */
export async function systemCheck(dataDir: string): Promise<SystemCheck> {
  const s = await lib();
  const [system, cpu, mem, temp, disk] = await Promise.all([
    s.system().catch(() => undefined),
    s.cpu().catch(() => undefined),
    s.mem(),
    s.cpuTemperature().catch(() => undefined),
    diskOf(dataDir).catch(() => undefined),
  ]);
  const model = system?.raspberry?.type ? `Raspberry Pi ${system.raspberry.type}` : [system?.manufacturer, system?.model].filter((x) => x && x !== 'Default string').join(' ') || 'Unknown computer';
  const items: CheckItem[] = [];
  const cores = cpu?.cores ?? 0;
  items.push({
    label: 'Processor',
    value: `${[cpu?.manufacturer, cpu?.brand].filter(Boolean).join(' ') || 'unknown'}, ${cores} core${cores === 1 ? '' : 's'}`,
    level: cores >= 2 ? 'ok' : 'warn',
    ...(cores < 2 ? { advice: 'One core is slow for a homeserver: expect delays when many people chat.' } : {}),
  });
  const total = mem.total || totalmem();
  items.push({
    label: 'Memory',
    value: `${formatBytes(total)} (${formatBytes(mem.available)} free)`,
    level: total >= 1.5 * GB ? 'ok' : total >= 900 * MB ? 'warn' : 'bad',
    ...(total < 1.5 * GB ? { advice: total >= 900 * MB ? 'Enough in one process (monolith); keep big public rooms away.' : 'Less than 1 GB: Neurite may run out of memory.' } : {}),
  });
  if (disk) {
    const level: Level = disk.available >= 4 * GB ? 'ok' : disk.available >= GB ? 'warn' : 'bad';
    items.push({
      label: 'Storage for data',
      value: `${formatBytes(disk.available)} free of ${formatBytes(disk.size)} (${disk.mount})`,
      level,
      ...(level !== 'ok' ? { advice: level === 'warn' ? 'Media and history fill a few GB within months: use a larger card.' : 'Under 1 GB free: the server will fill the card quickly.' } : {}),
    });
  }
  const t = typeof temp?.main === 'number' && temp.main > 0 ? temp.main : undefined;
  items.push(
    t === undefined
      ? { label: 'Temperature', value: 'no sensor', level: 'ok' }
      : {
          label: 'Temperature',
          value: `${t.toFixed(0)} °C`,
          level: t < 70 ? 'ok' : t < 80 ? 'warn' : 'bad',
          ...(t >= 70 ? { advice: 'Hot: the board slows itself down above 80 °C. Add a heatsink or a case with airflow.' } : {}),
        },
  );
  const recommended = recommendArrangement(total);
  return {
    model,
    items,
    recommended,
    recommendation:
      recommended === 'split'
        ? 'Each part of the server in its own process (split): a crash stays small and restarts by itself. This board has the memory for it.'
        : 'Every part of the server in one process (monolith): it needs far less memory, which this board calls for.',
  };
}
