/**
 * Root file system updates through RAUC. RAUC verifies the bundle against
 * the keyring in /etc/rauc, writes the inactive root slot and makes it the
 * primary boot target with three boot attempts (U-Boot's boot script counts
 * them down, overlays/../board/neurite/boot.cmd). After the reboot the
 * supervisor watches the new system for the health window and only then
 * marks the slot good; a bad window marks it bad and reboots into the other.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compareVersions, isVersion } from './version.js';
import { appPaths, readJsonFile, recordOutcome, removeDurably, UpdateRefused } from './slots.js';
import { writeFileAtomic } from '../../platform/storage/atomic-file.js';

const run = promisify(execFile);
export const OS_VERSION_FILE = '/etc/neurite/os-version';
const SQUASHFS_MAGIC = Buffer.from('hsqs', 'latin1');

export function isRaucBundle(head: Buffer): boolean {
  return head.length >= 4 && head.subarray(0, 4).equals(SQUASHFS_MAGIC);
}

export function osVersion(): string | undefined {
  try {
    return readFileSync(OS_VERSION_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

interface RaucStatus {
  compatible: string;
  booted: string;
  boot_primary: string;
  slots: Record<string, { bootname?: string; state?: string }>[];
}

async function rauc(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('rauc', args, { maxBuffer: 4 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message: string };
    if (err.code === 'ENOENT') throw new UpdateRefused('this system has no rauc, so it cannot install root file system bundles');
    const line = (err.stderr ?? err.message).trim().split('\n').filter(Boolean).pop() ?? err.message;
    throw new UpdateRefused(`rauc ${args[0]}: ${line}`);
  }
}

export interface RootfsTrial {
  version: string;
  /** The bootname (A or B) the new system boots from. */
  bootname: string;
  from: { bootname: string; version: string };
  requested_at: string;
}

const trialFile = (dataDir: string) => join(appPaths(dataDir).appDir, 'rootfs-trial.json');

/** Verifies and installs a RAUC bundle into the inactive root slot. The reboot is the caller's. */
export async function installRootfsBundle(file: string, dataDir: string, opts: { force?: boolean }): Promise<RootfsTrial> {
  const info = JSON.parse(await rauc(['info', '--output-format=json', file])) as { compatible: string; version: string };
  const status = JSON.parse(await rauc(['status', '--output-format=json'])) as RaucStatus;
  if (info.compatible !== status.compatible) throw new UpdateRefused(`the bundle is for ${info.compatible}, this system is ${status.compatible}`);
  const current = osVersion();
  if (current && isVersion(info.version) && isVersion(current) && compareVersions(info.version, current) <= 0 && !opts.force) {
    throw new UpdateRefused(`system version ${info.version} is not newer than the running ${current} (use --force to install it anyway)`);
  }
  await rauc(['install', file]);
  const after = JSON.parse(await rauc(['status', '--output-format=json'])) as RaucStatus;
  const primary = after.slots.map((s) => Object.entries(s)[0]!).find(([name]) => name === after.boot_primary)?.[1];
  const trial: RootfsTrial = {
    version: info.version,
    bootname: primary?.bootname ?? '?',
    from: { bootname: status.booted, version: current ?? '?' },
    requested_at: new Date().toISOString(),
  };
  writeFileAtomic(trialFile(dataDir), JSON.stringify(trial, null, 2) + '\n');
  return trial;
}

/** The bootname this system booted from (U-Boot's boot script passes rauc.slot=). */
export function bootedSlot(): string | undefined {
  try {
    return /(?:^|\s)rauc\.slot=(\S+)/.exec(readFileSync('/proc/cmdline', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * At start: a root file system update waiting for its verdict. Returns the
 * trial when this system is the new one (the caller watches its health), and
 * records the rollback when the boot loader already returned to the old one.
 */
export function pendingRootfsTrial(dataDir: string): RootfsTrial | undefined {
  const f = trialFile(dataDir);
  if (!existsSync(f)) return undefined;
  const trial = readJsonFile<RootfsTrial>(f);
  const booted = bootedSlot();
  if (!trial || !booted) return undefined;
  if (booted === trial.bootname) return trial;
  recordOutcome(appPaths(dataDir), { result: 'rolled-back', version: trial.version, reason: `system version ${trial.version} did not boot in three attempts; the previous system runs again` });
  removeDurably(f);
  return undefined;
}

export async function finishRootfsTrial(dataDir: string, trial: RootfsTrial, healthy: { ok: true } | { ok: false; reason: string }): Promise<'committed' | 'reboot'> {
  const p = appPaths(dataDir);
  if (healthy.ok) {
    await rauc(['status', 'mark-good']);
    recordOutcome(p, { result: 'installed', version: trial.version, slot: `rootfs ${trial.bootname}` });
    removeDurably(trialFile(dataDir));
    return 'committed';
  }
  await rauc(['status', 'mark-bad']);
  recordOutcome(p, { result: 'rolled-back', version: trial.version, reason: `system version ${trial.version} was rolled back: ${healthy.reason}` });
  removeDurably(trialFile(dataDir));
  return 'reboot';
}
