/** A process's memory as Linux accounts it: RSS, and PSS, which splits shared pages between their users. */
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  rss_kb: number;
  pss_kb: number;
}

export function processMemory(pid: number): ProcessMemory | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rss_kb: field('Rss'), pss_kb: field('Pss') };
  } catch {
    return undefined;
  }
}
