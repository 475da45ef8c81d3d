/** The files a process has mapped, from /proc/PID/maps (Linux). */
import { readFileSync } from 'node:fs';

/** Each mapped file's path once, in the order of the mappings; none if the process is gone. */
export function mappedFiles(pid: number | 'self' = 'self'): string[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return [];
  }
  // The path is the sixth field and may itself contain spaces.
  const paths = text.split('\n').map((line) => line.split(/\s+/).slice(5).join(' '));
  return [...new Set(paths.filter((p) => p.startsWith('/')))];
}
