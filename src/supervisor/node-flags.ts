/**
 * The V8 flags each child process starts with. Idle memory is the split
 * arrangement's tightest budget, and most components wait for a request
 * that comes a few times a day; only the ones on the path of every message
 * and sync need V8's optimising compilers.
 *
 * Not done: a lower CPU priority (nice +10) for the others. It made
 * /versions answer sooner after start (split 2.5–2.9 → 1.8 s) only because
 * the background processes were still starting: a request for media or the
 * key document right after got 503, and under load a quick stop found
 * children not yet ready.
 */
import { setFlagsFromString } from 'node:v8';
import type { ComponentName } from '../platform/config/components.js';
import type { ProcessGroup } from '../platform/config/layout.js';

/** On the path of every message, sync, typing notice or receipt: they keep the optimising compilers. */
export const BUSY_COMPONENTS: ReadonlySet<ComponentName> = new Set<ComponentName>(['gateway', 'clientapi', 'syncapi', 'roomserver', 'userapi', 'eduserver']);

/** Every child: a 1 MB young generation (8 MB sends 5–15 % faster but costs the monolith its idle budget). */
const ALWAYS = ['--max-semi-space-size=1'];

/**
 * A process with no busy component runs on the interpreter alone, and V8
 * favours size over speed where it has the choice: about 4–5 MB less per
 * process. Not `--jitless`: that also turns off WebAssembly, which fetch
 * (undici) needs. `--optimize-for-size` is not for the busy ones: in split
 * it made each send cost clientapi about 50 % more CPU.
 */
const INTERPRETER_ONLY = ['--no-opt', '--no-maglev', '--no-sparkplug'];
const BACKGROUND = ['--optimize-for-size', ...INTERPRETER_ONLY];

/**
 * The supervisor is never on a request's path either. Its own flags cannot
 * be chosen before it starts, but the compiler tiers are consulted whenever
 * a function gets hot, so turning them off at run time holds (about 1.7 MB).
 */
export function useInterpreterOnly(): void {
  setFlagsFromString(INTERPRETER_ONLY.join(' '));
}

/** A process of several whose components are all off the message path. */
export function isBackground(group: ProcessGroup, layout: readonly ProcessGroup[]): boolean {
  return layout.length > 1 && !group.components.some((c) => BUSY_COMPONENTS.has(c));
}

export function childNodeFlags(group: ProcessGroup, layout: readonly ProcessGroup[]): string[] {
  return isBackground(group, layout) ? [...ALWAYS, ...BACKGROUND] : [...ALWAYS];
}
