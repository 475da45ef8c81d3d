/**
 * Runs the built server (dist/neurite.js) as a user would: `init`, then
 * `start` in a child process, waiting until it answers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const NEURITE = resolve(import.meta.dirname, '../../dist/neurite.js');

export function requireBuild(): void {
  if (!existsSync(NEURITE)) throw new Error(`${NEURITE} is missing: run \`make build\` (make test does) first`);
}

/**
 * A port no other test process on this machine holds, from below the
 * kernel's ephemeral range (32768 and up): a port taken with listen(0) is
 * free again the moment a server on it is killed, and a parallel test (or an
 * outgoing connection) could get it before the restart on the same port.
 * A claim is a file named after the port, made with O_EXCL, holding the
 * claimer's pid; a dead claimer's ports are free, and ours go at exit.
 */
const PORT_CLAIMS = join(tmpdir(), 'neurite-test-ports');
const PORT_FIRST = 20_000;
const PORT_COUNT = 12_000;
const claimed: string[] = [];
let nextPort = PORT_FIRST + ((process.pid * 97) % PORT_COUNT);

process.once('exit', () => {
  for (const f of claimed) rmSync(f, { force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function claim(port: number): boolean {
  const file = join(PORT_CLAIMS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      claimed.push(file);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(file, 'utf8')) || 0;
      if (owner === process.pid || alive(owner)) return false;
      rmSync(file, { force: true }); // its claimer is gone
    }
  }
  return false;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

export async function freePort(): Promise<number> {
  mkdirSync(PORT_CLAIMS, { recursive: true });
  for (let tries = 0; tries < PORT_COUNT; tries++) {
    const port = nextPort;
    nextPort = PORT_FIRST + ((nextPort - PORT_FIRST + 1) % PORT_COUNT);
    if (claim(port) && (await bindable(port))) return port;
  }
  throw new Error('no free test port');
}

const tempDirs: string[] = [];

/** A fresh folder under the system's temporary directory, removed when this test process exits. */
export function tempDir(prefix = 'nt-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.push(dir) === 1) process.once('exit', removeTempDirs);
  return dir;
}

function removeTempDirs(): void {
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
    } catch {
      // A process still writing there (a test's server killed outright): left behind, not a failure.
    }
  }
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [NEURITE, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Ports {
  client: number;
  federation: number;
  setup: number;
}

export async function freePorts(): Promise<Ports> {
  return { client: await freePort(), federation: await freePort(), setup: await freePort() };
}

export interface InitOptions {
  mode?: 'split' | 'monolith';
  tls?: 'self-signed' | 'off';
  extra?: string[];
}

/** A fresh data directory initialised for localhost:<federation port>. */
export async function initServer(opts: InitOptions = {}): Promise<{ dataDir: string; ports: Ports; serverName: string }> {
  requireBuild();
  const dataDir = join(tempDir(), 'data');
  const ports = await freePorts();
  const serverName = `localhost:${ports.federation}`;
  const r = cli([
    'init',
    '--data-dir', dataDir,
    '--server-name', serverName,
    '--bind', '127.0.0.1',
    '--client-port', String(ports.client),
    '--federation-port', String(ports.federation),
    '--setup-port', String(ports.setup),
    '--mode', opts.mode ?? 'split',
    '--tls', opts.tls ?? 'self-signed',
    '--rate-limits', 'off',
    ...(opts.extra ?? []),
  ]);
  if (r.status !== 0) throw new Error(`init failed: ${r.stderr}`);
  return { dataDir, ports, serverName };
}

export interface RunningServer {
  proc: ChildProcess;
  output(): string;
  /** SIGTERM, then resolves with the exit code and how long stopping took. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  kill(): void;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function versionsAnswer(port: number): Promise<boolean | undefined> {
  const r = await fetch(`http://127.0.0.1:${port}/_matrix/client/versions`);
  return r.ok ? true : undefined;
}

/** Starts `neurite start` and waits until the client port answers /versions (unless unconfigured). */
export async function startServer(dataDir: string, opts: { clientPort?: number; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<RunningServer> {
  const proc = spawn(process.execPath, [NEURITE, 'start', '--data-dir', dataDir, ...(opts.args ?? [])], {
    // The server stops when this pipe closes, so a test process that dies (a tap timeout) leaves no server behind.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NEURITE_LOG_LEVEL: 'warn', NEURITE_STOP_ON_STDIN_CLOSE: '1', ...opts.env },
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const server: RunningServer = {
    proc,
    output: () => out,
    stop: async () => {
      const t0 = Date.now();
      proc.kill('SIGTERM');
      const e = await exited;
      return { ...e, ms: Date.now() - t0 };
    },
    kill: () => proc.kill('SIGKILL'),
  };
  if (opts.clientPort !== undefined) {
    const port = opts.clientPort;
    try {
      await Promise.race([
        waitFor('the client port to answer', () => versionsAnswer(port), 60_000),
        exited.then((e) => {
          throw new Error(`neurite start exited (${e.code ?? e.signal}): ${out}`);
        }),
      ]);
    } catch (e) {
      // A server that never came up must not outlive the test (it would hold the test process open).
      proc.stdin!.destroy();
      proc.kill('SIGTERM');
      throw new Error(`${(e as Error).message}\n--- its output ---\n${out.slice(-3000)}`);
    }
  }
  return server;
}

export function removeDataDir(dataDir: string): void {
  // Retries: a process that has just exited may leave a LevelDB folder being emptied (ENOTEMPTY) for a moment.
  rmSync(resolve(dataDir, '..'), { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

export function makeRunAvailable(): boolean {
  return spawnSync('make', ['--version']).status === 0;
}
