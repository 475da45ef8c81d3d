/**
 * The V8 flags each child process runs with. Idle memory is the split
 * arrangement's tightest budget, and most components wait for a request
 * that comes a few times a day; only the ones on the path of every message
 * and sync need V8's optimising compilers.
 *
 * In split the V8 flags are set at run time, by the child before its
 * components load, not on its command line: Node's built-in modules ship
 * with a code cache that V8 accepts only under the flags it was made with,
 * so with any flag on the command line every child compiled `node:http`,
 * `node:net` and the rest from source (split start 2.45–2.85 s; about
 * 2.25 s this way, idle 241 MB instead of 244). Each flag used here is read
 * when V8 needs it, so setting it late holds.
 *
 * Not done: a lower CPU priority (nice +10) for the background processes.
 * It made /versions answer sooner after start (split 2.5–2.9 → 1.8 s) only
 * because they were still starting: a request for media or the key
 * document right after got 503, and under load a quick stop found children
 * not yet ready.
 */
import { setFlagsFromString } from 'node:v8';
import type { ComponentName } from '../platform/config/components.js';
import type { ProcessGroup } from '../platform/config/layout.js';

/** On the path of every message, sync, typing notice or receipt: they keep the optimising compilers. */
export const BUSY_COMPONENTS: ReadonlySet<ComponentName> = new Set<ComponentName>(['gateway', 'clientapi', 'syncapi', 'roomserver', 'userapi', 'eduserver']);

/**
 * The young generation. A split child stops it growing from its 1 MB start
 * before its components load: thirteen processes, most of them idle. The
 * monolith's one process does all the work and may grow it to an 8 MB
 * semi-space: with 1 MB, garbage collection took about a sixth of its
 * main thread with 16 senders, and in six alternating pairs of runs 8 MB
 * cost less CPU per send in five (0.95–1.14 against 1.08–1.50 ms); idle
 * memory 66 against 63 MB (docs/design.md, "Where a send's time goes").
 * Earlier alternating runs had shown no difference.
 */
const MONOLITH_YOUNG_GENERATION = '--max-semi-space-size=8';
const NO_YOUNG_GROWTH = '--semi-space-growth-factor=1';

/**
 * V8 drops the bytecode of a function that has not run since the previous
 * full GC, instead of after six. A process's start-up code (module bodies,
 * configuration, route registration) runs once, and an idle process sees
 * few full GCs (the memory reducer runs two), so with the default its
 * bytecode stayed for good: split idle about 223 → 214 MB, monolith about
 * 72 → 68 MB, with no measurable change in what a send costs (a function on
 * a request's path runs between any two GCs; one that does not is compiled
 * again when next called).
 *
 * And the same for a function that has baseline (Sparkplug) code, which V8
 * otherwise never flushes: the code of the message path, compiled during a
 * load, stayed after it. Split 60 s after the sync bench's load 192.5 →
 * 184.8 MB (every process 0.2–1.7 MB less). The cost is the first message
 * after an idle spell, whose path is compiled again: in split, send → sync
 * 8.8–34 ms against 10.5–27 without it (three spells of 60 s each, this
 * VM; 2.5–6 ms warm either way).
 */
const FLUSH_IDLE_CODE = ['--bytecode-old-age=1', '--flush-baseline-code'];

/**
 * V8 optimises a function with TurboFan once it has run about 3 000 times
 * (the default of this flag). The code on a message's path runs once or a
 * few times per message, so after every start (an update restarts the
 * server) it ran unoptimised for the first 3 000–5 000 messages: days of a
 * family's chat, and all of `make bench`'s sequential sends, at about 1.5
 * times the CPU per message of the same code optimised (docs/design.md,
 * "Where a send's time goes"). At 200 that code is optimised within the
 * first few hundred messages. Code that runs 200 times is worth compiling
 * in a busy process; idle memory did not change.
 */
const EARLY_TIER_UP = '--invocation-count-for-turbofan=200';

/**
 * A process with no busy component runs on the interpreter alone, and V8
 * favours size over speed where it has the choice: about 4–5 MB less per
 * process. Not `--jitless`: that also turns off WebAssembly, which fetch
 * (undici) needs. `--optimize-for-size` is not for the busy ones: in split
 * it made each send cost clientapi about 50 % more CPU.
 */
const INTERPRETER_ONLY = ['--no-opt', '--no-maglev', '--no-sparkplug'];
const BACKGROUND = ['--optimize-for-size', ...INTERPRETER_ONLY];

/** A process of several whose components are all off the message path. */
function isBackground(group: ProcessGroup, layout: readonly ProcessGroup[]): boolean {
  return layout.length > 1 && !group.components.some((c) => BUSY_COMPONENTS.has(c));
}

/**
 * One V8 worker thread per split child instead of Node's four: each thread
 * costs a process its stack, its share of V8's per-thread data and a malloc
 * arena (split idle about 201 → 190 MB, sends and start unchanged within
 * noise). Thirteen processes on two to four cores gain nothing from four
 * helpers each. A Node option, not a V8 flag: the code cache stays valid.
 * The monolith keeps Node's pool: there one process does all the work.
 */
const ONE_V8_WORKER = '--v8-pool-size=1';

/**
 * glibc's malloc settings for every child (the environment may override
 * them). Its default of eight arenas per core costs each idle child
 * megabytes. Fixed mmap and trim thresholds: glibc otherwise raises its mmap
 * threshold as blocks are freed, and LevelDB's and Node's larger buffers
 * then fragment the heap (after the sync bench's load: 161 → 122 MB
 * monolith, 413 → 339 MB split). What a load still leaves free inside the
 * heaps goes back once the process is quiet (platform/memory/idle-release.ts).
 */
export const CHILD_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };

/** Flags on the child's command line: Node's own options, and the monolith's young generation cap. */
export function childNodeFlags(layout: readonly ProcessGroup[]): string[] {
  return layout.length <= 1 ? [MONOLITH_YOUNG_GENERATION] : [ONE_V8_WORKER];
}

/** Flags a child sets on itself before its components load. */
export function childRuntimeFlags(group: ProcessGroup, layout: readonly ProcessGroup[]): string[] {
  if (layout.length <= 1) return [...FLUSH_IDLE_CODE, EARLY_TIER_UP];
  const every = [NO_YOUNG_GROWTH, ...FLUSH_IDLE_CODE];
  return isBackground(group, layout) ? [...every, ...BACKGROUND] : [...every, EARLY_TIER_UP];
}

export function applyRuntimeFlags(flags: readonly string[]): void {
  if (flags.length > 0) setFlagsFromString(flags.join(' '));
}

/**
 * The supervisor is never on a request's path either: its optimising tiers
 * go off at run time (about 1.7 MB), and its start-up bytecode goes too.
 */
export function useInterpreterOnly(): void {
  applyRuntimeFlags([...INTERPRETER_ONLY, ...FLUSH_IDLE_CODE]);
}
