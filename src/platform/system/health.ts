/**
 * The board's health: the setup wizard's system check (systeminformation,
 * imported on first use, so a process that never asks does not carry it),
 * and the dashboard's live figures and the maintenance job's samples (read
 * from /proc and statfs directly: see sampleHealth).
 */
import { readFile, statfs } from 'node:fs/promises';
import { freemem, loadavg, totalmem, uptime } from 'node:os';
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

/**
 * One sample, read straight from /proc, /sys and statfs(2): cheap and
 * without child processes. (systeminformation's load, network and disk
 * calls run `ip`, `df` and friends through execSync, which stalls the
 * event loop of the process that asks: in monolith mode, the whole server.)
 * CPU and network figures are averages since the previous sample of this
 * process (since boot for the first).
 */
export async function sampleHealth(dataDir: string): Promise<HealthSample> {
  const [cpu, mem, disk, net, temp] = await Promise.all([readCpu(), readMem(), readDisk(dataDir), readNet(), readTemp()]);
  const now = Date.now();
  const prev = last;
  last = { ts: now, cpu, net };
  let cpuPct = 0;
  if (cpu) {
    const base = prev?.cpu ?? { busy: 0, total: 0 };
    const total = cpu.total - base.total;
    cpuPct = total > 0 ? ((cpu.busy - base.busy) / total) * 100 : 0;
  }
  const seconds = prev ? (now - prev.ts) / 1000 : uptime();
  const perSecond = (a: number, b: number | undefined) => (b !== undefined && seconds > 0 && a >= b ? (a - b) / seconds : 0);
  return {
    ts: now,
    cpu: Math.round(Math.min(100, Math.max(0, cpuPct)) * 10) / 10,
    load1: Math.round(loadavg()[0]! * 100) / 100,
    temp,
    // "Available" counts the page cache as free, as `free` does; "used" would not.
    mem_used: mem.total - mem.available,
    mem_total: mem.total,
    disk_used: disk ? disk.size - disk.available : 0,
    disk_total: disk?.size ?? 0,
    uptime_s: Math.round(uptime()),
    net_rx: Math.round(perSecond(net.rx, prev ? prev.net.rx : 0)),
    net_tx: Math.round(perSecond(net.tx, prev ? prev.net.tx : 0)),
  };
}

let last: { ts: number; cpu: { busy: number; total: number } | undefined; net: { rx: number; tx: number } } | undefined;

const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined);

/** Jiffies from the first line of /proc/stat: busy (all but idle and iowait) and total. */
async function readCpu(): Promise<{ busy: number; total: number } | undefined> {
  const line = (await readText('/proc/stat'))?.split('\n', 1)[0];
  if (!line?.startsWith('cpu ')) return undefined;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

async function readMem(): Promise<{ total: number; available: number }> {
  const text = await readText('/proc/meminfo');
  const kb = (name: string) => {
    const m = text && new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  return { total: kb('MemTotal') ?? totalmem(), available: kb('MemAvailable') ?? freemem() };
}

/** The file system that holds the data directory (statfs: what `df` shows for it). */
async function readDisk(path: string): Promise<{ size: number; available: number } | undefined> {
  try {
    const s = await statfs(path);
    return { size: s.blocks * s.bsize, available: s.bavail * s.bsize };
  } catch {
    return undefined;
  }
}

/** Bytes received and sent since boot by every interface but loopback (/proc/net/dev). */
async function readNet(): Promise<{ rx: number; tx: number }> {
  let rx = 0;
  let tx = 0;
  for (const line of ((await readText('/proc/net/dev')) ?? '').split('\n').slice(2)) {
    const [iface, rest] = line.split(':');
    if (!rest || iface!.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/).map(Number);
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rx, tx };
}

/** The first thermal zone (the SoC on a Raspberry Pi), in °C; null without one. */
async function readTemp(): Promise<number | null> {
  const text = await readText('/sys/class/thermal/thermal_zone0/temp');
  const milli = text === undefined ? NaN : Number(text.trim());
  return Number.isFinite(milli) && milli > 0 ? Math.round(milli / 100) / 10 : null;
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
