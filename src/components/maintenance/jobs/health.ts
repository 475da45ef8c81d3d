/** Health sampling: the figures the dashboard charts over 24 hours. */
import { sampleHealth } from '../../../platform/system/health.js';
import type { JobDefinition } from './types.js';

export const healthSampling: JobDefinition = {
  name: 'health-sampling',
  description: 'Records CPU, temperature, memory, disk and network for the 24-hour charts.',
  schedule: '*/5 * * * *',
  async run({ ctx, storage }) {
    const s = await sampleHealth(ctx.paths.dataDir);
    const dropped = await storage.addSample(s);
    return `CPU ${s.cpu.toFixed(0)} %, memory ${Math.round((s.mem_used / s.mem_total) * 100)} %${s.temp === null ? '' : `, ${s.temp.toFixed(0)} °C`}${dropped ? `; ${dropped} old sample${dropped === 1 ? '' : 's'} dropped` : ''}`;
  },
};
