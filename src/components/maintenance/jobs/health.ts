/**
 * Health sampling: the figures the dashboard charts over 24 hours. A card
 * running out of space is also told to the admins by server notice, once a
 * day while it lasts: a full card stops the server from storing anything.
 */
import { sampleHealth, type HealthSample } from '../../../platform/system/health.js';
import { tellAdminsInLine, type AdminNotice } from '../admin-notices.js';
import type { JobDefinition } from './types.js';

/** Under this much free space the card is nearly full (the setup wizard's own "bad" level). */
export const LOW_DISK_BYTES = 1024 ** 3;

/**
 * Whole megabytes with commas between thousands ("32,768 MB"). Not
 * `toLocaleString`: ICU's number formatting data would stay in the process
 * for good after the first notice (about 7 MB).
 */
const mb = (bytes: number) => `${String(Math.round(bytes / 1024 ** 2)).replace(/\B(?=(\d{3})+$)/g, ',')} MB`;

/** The notice a sample calls for, if any: one per day (UTC) while free space stays low. */
export function lowDiskNotice(s: HealthSample): AdminNotice | undefined {
  const free = s.disk_total - s.disk_used;
  if (s.disk_total <= 0 || free >= LOW_DISK_BYTES) return undefined;
  return {
    key: `disk-low-${new Date(s.ts).toISOString().slice(0, 10)}`,
    type: 'org.neurite.disk_low',
    body: `Neurite's card is nearly full: ${mb(free)} free of ${mb(s.disk_total)}. When it is full, messages and files can no longer be stored. Remove old media or shorten media retention on the dashboard, or move to a larger card.`,
  };
}

export const healthSampling: JobDefinition = {
  name: 'health-sampling',
  description: 'Records CPU, temperature, memory, disk and network for the 24-hour charts; tells the admins when the card is nearly full.',
  schedule: '*/5 * * * *',
  async run({ ctx, storage }) {
    const s = await sampleHealth(ctx.paths.dataDir);
    const dropped = await storage.addSample(s);
    let line = `CPU ${s.cpu.toFixed(0)} %, memory ${Math.round((s.mem_used / s.mem_total) * 100)} %${s.temp === null ? '' : `, ${s.temp.toFixed(0)} °C`}${dropped ? `; ${dropped} old sample${dropped === 1 ? '' : 's'} dropped` : ''}`;
    const notice = lowDiskNotice(s);
    if (notice) line += `; the card is nearly full (${mb(s.disk_total - s.disk_used)} free)${await tellAdminsInLine(ctx.apis, storage, notice)}`;
    return line;
  },
};
