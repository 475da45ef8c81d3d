/**
 * The supervisor: forks one child per process group, waits until each is
 * ready, restarts a child that dies (with exponential backoff, and a crash
 * loop reported as such), answers `neurite status` on its control socket,
 * and on stop takes the gateway down first so that no new request arrives
 * while the rest drains. It holds no component code, so it has little that
 * could crash it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ensureCode, forgetCode } from '../components/setup/code.js';
import { userApi } from '../components/userapi/api.js';
import { MatrixError } from '../core/errors.js';
import { processLayout, processOf, SETUP_ONLY_LAYOUT, type ProcessGroup } from '../platform/config/layout.js';
import { loadConfig } from '../platform/config/load.js';
import { dataPaths, processSocketPath, type DataPaths } from '../platform/config/paths.js';
import { validateConfig, type NeuriteConfig } from '../platform/config/schema.js';
import { ApiDirectory } from '../platform/ipc/directory.js';
import { NEURITE_VERSION } from '../version.js';
import { LogTail } from './log-tail.js';
import { CHILD_MALLOC_ENV, childNodeFlags } from './node-flags.js';
import { readJsonBody, replyJson } from './control-http.js';
import { processMemory, type ProcessMemory } from './memory.js';
import { handOverDataDir, type RunAs } from './privileges.js';
import { CHILD_COMMAND, CHILD_ENV, type ChildMessage, type ChildSetup } from './protocol.js';

export interface SupervisorOptions {
  dataDir: string;
  /** The script children run (this program's entry point). */
  entry: string;
  logger: Logger;
  /** For a data directory with no configuration: where the setup wizard listens. */
  setupPort?: number;
  setupBind?: string;
  /** How long a child may take to become ready. */
  startTimeoutMs?: number;
  /** The unprivileged user the children run as (see privileges.ts); unset, they run as this process does. */
  runAs?: RunAs;
  /** Extra control-socket requests, keyed by `METHOD /path` (the update switch). */
  controlHandlers?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

export type ChildState = 'starting' | 'running' | 'restarting' | 'crash-loop' | 'stopping' | 'stopped';

interface Child {
  group: ProcessGroup;
  proc?: ChildProcess;
  state: ChildState;
  startedAt: number;
  restarts: number;
  /** Exit times in the last minute, to tell a crash loop from an odd crash. */
  recentExits: number[];
  consecutiveFailures: number;
  restartTimer?: NodeJS.Timeout;
  lastExit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  /** The last lines it wrote, for the dashboard; kept across restarts. */
  tail: LogTail;
}

export interface ProcessStatus {
  name: string;
  components: string[];
  pid: number | undefined;
  state: ChildState;
  uptime_ms: number;
  restarts: number;
  memory: ProcessMemory | undefined;
  last_exit?: { code: number | null; signal: string | null; at: number };
}

export interface SupervisorStatus {
  version: string;
  data_dir: string;
  configured: boolean;
  server_name?: string;
  supervisor: { pid: number; uptime_ms: number; memory: ProcessMemory | undefined };
  /** The unprivileged user the processes run as (NEURITE_USER), when they do. */
  run_as?: string;
  processes: ProcessStatus[];
  /** The last switch of arrangement (`POST /reload`): the setup wizard shows its progress. */
  reload?: { state: 'reloading' | 'done' | 'failed'; at: number; error?: string };
}

const CRASH_LOOP_WINDOW_MS = 60_000;
const CRASH_LOOP_EXITS = 5;
const HEALTHY_AFTER_MS = 30_000;
const MAX_BACKOFF_MS = 30_000;
const STOP_TIMEOUT_MS = 4_000;
const MAX_USER_REQUEST_BYTES = 64 * 1024;

export class Supervisor {
  readonly paths: DataPaths;
  private readonly logger: Logger;
  private config!: NeuriteConfig;
  private configured = false;
  private layout: ProcessGroup[] = [];
  private readonly children = new Map<string, Child>();
  private readonly tails = new Map<string, LogTail>();
  private control: Server | undefined;
  /** Internal API clients, made on first use (only `user add` needs them). */
  private userClients: ApiDirectory | undefined;
  private stopping = false;
  private reloading: SupervisorStatus['reload'];
  private readonly startedAt = Date.now();

  constructor(private readonly opts: SupervisorOptions) {
    this.paths = dataPaths(opts.dataDir);
    this.logger = opts.logger.child({ component: 'supervisor' });
  }

  get serverConfig(): NeuriteConfig | undefined {
    return this.configured ? this.config : undefined;
  }

  /** Starts every process group; rejects with a one-line reason when the server cannot start. */
  async start(): Promise<void> {
    this.readArrangement();
    await this.listenControl();
    try {
      await this.startAll();
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** The configuration on disk, or the setup-only arrangement when there is none. */
  private readArrangement(): void {
    const config = loadConfig(this.paths.dataDir);
    this.configured = config !== undefined;
    this.config =
      config ??
      validateConfig({ server_name: 'unconfigured', bind: this.opts.setupBind ?? '0.0.0.0', setup_port: this.opts.setupPort ?? 8080, processes: 'monolith' });
    this.layout = this.configured ? processLayout(this.config.processes) : SETUP_ONLY_LAYOUT;
  }

  private async startAll(): Promise<void> {
    const t0 = Date.now();
    // The setup code is written here, not by the (possibly unprivileged) setup
    // process: its extra copies go where only root may write (the boot partition).
    mkdirSync(this.paths.dataDir, { recursive: true });
    if (this.configured) forgetCode(this.paths.dataDir);
    else ensureCode(this.paths.dataDir);
    if (this.opts.runAs) {
      const kept = handOverDataDir(this.paths, this.opts.runAs);
      if (kept.length > 0) this.logger.warn({ files: kept.slice(0, 20), count: kept.length }, 'files with more than one name (hard links) were not handed over to the unprivileged user');
    }
    await Promise.all(this.layout.map((g) => this.startChild(g)));
    this.logger.info({ processes: this.layout.length, startup_ms: Date.now() - t0 }, 'all processes ready');
  }

  /**
   * Stops every process and starts the arrangement the configuration on disk
   * describes: the setup wizard's switch from setup-only to the homeserver,
   * and the dashboard's settings. When the new arrangement cannot start, the
   * previous configuration state is restored so that the setup port answers
   * again and can show the error.
   */
  private async reload(): Promise<void> {
    const wasConfigured = this.configured;
    this.reloading = { state: 'reloading', at: Date.now() };
    this.userClients?.close();
    this.userClients = undefined;
    await this.stopChildren();
    this.children.clear();
    if (this.stopping) return;
    try {
      this.readArrangement();
      await this.startAll();
      this.reloading = { state: 'done', at: Date.now() };
    } catch (e) {
      const error = (e as Error).message;
      this.logger.error({ err: error }, 'the new arrangement did not start; going back to the previous one');
      await this.stopChildren();
      this.children.clear();
      if (!wasConfigured) {
        this.configured = false;
        this.config = validateConfig({ server_name: 'unconfigured', bind: this.opts.setupBind ?? this.config.bind, setup_port: this.opts.setupPort ?? this.config.setup_port, processes: 'monolith' });
        this.layout = SETUP_ONLY_LAYOUT;
      }
      this.reloading = { state: 'failed', at: Date.now(), error };
      if (this.stopping) return;
      await this.startAll().catch((e2: Error) => this.logger.fatal({ err: e2.message }, 'the previous arrangement does not start either'));
    }
  }

  private async listenControl(): Promise<void> {
    // The run folder may be the unprivileged user's: a link put in its place is not followed.
    if (lstatSync(this.paths.runDir, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(this.paths.runDir);
    mkdirSync(this.paths.runDir, { recursive: true, mode: 0o700 });
    if (existsSync(this.paths.controlSocket)) {
      if (await socketAnswers(this.paths.controlSocket)) throw new Error(`Neurite is already running on ${this.paths.dataDir}`);
      rmSync(this.paths.controlSocket, { force: true });
    }
    const server = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/status') return replyJson(res, 200, this.status());
      if (req.method === 'POST' && req.url === '/users') {
        void this.addUser(req, res);
        return;
      }
      const extra = this.opts.controlHandlers?.[`${req.method} ${req.url}`];
      if (extra) return extra(req, res);
      if (req.method === 'GET' && req.url?.startsWith('/logs?')) {
        const q = new URLSearchParams(req.url.slice('/logs?'.length));
        const child = this.children.get(q.get('process') ?? '');
        return replyJson(res, child ? 200 : 404, { lines: child ? child.tail.lines(Number(q.get('lines') ?? 100)) : [] });
      }
      if (req.method === 'POST' && req.url === '/reload') {
        req.resume();
        // Answered before the switch: the caller may be one of the processes it stops.
        const busy = this.stopping || this.reloading?.state === 'reloading';
        replyJson(res, busy ? 409 : 202, busy ? { error: 'busy' } : {});
        if (!busy) setImmediate(() => void this.reload());
        return;
      }
      replyJson(res, 404, { error: 'unknown control request' });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.paths.controlSocket, () => resolve());
    });
    this.control = server;
  }

  /**
   * `neurite user add` while the server runs: the UserAPI owns its database,
   * so the request goes to it over the internal API. Answers 200 with
   * `{user_id}`, or the error as `{errcode, error}`.
   */
  private async addUser(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => replyJson(res, status, body);
    try {
      const { username, password, admin } = (await readJsonBody(req, MAX_USER_REQUEST_BYTES)) as { username: string; password: string; admin?: boolean };
      if (!this.configured) return reply(409, { errcode: 'M_UNKNOWN', error: 'the server is not configured yet' });
      this.userClients ??= new ApiDirectory({ socketFor: (c) => processSocketPath(this.paths, processOf(this.layout, c)!.name) });
      const created = await this.userClients.get(userApi).createAccount({ username, password, admin: admin === true });
      reply(200, { user_id: created.user_id });
    } catch (e) {
      if (e instanceof MatrixError) return reply(e.status, e.toJSON());
      reply(503, { errcode: 'M_UNKNOWN', error: (e as Error).message });
    }
  }

  /** Forks a group's child and resolves when it says it is ready. */
  private startChild(group: ProcessGroup, existing?: Child): Promise<void> {
    const child: Child = existing ?? {
      group,
      state: 'starting',
      startedAt: Date.now(),
      restarts: 0,
      recentExits: [],
      consecutiveFailures: 0,
      tail: this.tails.get(group.name) ?? new LogTail(),
    };
    this.tails.set(group.name, child.tail);
    this.children.set(group.name, child);
    const setup: ChildSetup = { dataDir: this.paths.dataDir, configured: this.configured, config: this.config, layout: this.layout, group: group.name };
    const proc = fork(this.opts.entry, [CHILD_COMMAND, group.name], {
      execArgv: [...process.execArgv, ...childNodeFlags(this.layout)],
      env: { ...CHILD_MALLOC_ENV, ...process.env, [CHILD_ENV]: JSON.stringify(setup) },
      // Piped, not inherited, so that the dashboard can show each process's last lines.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      ...(this.opts.runAs ? { uid: this.opts.runAs.uid, gid: this.opts.runAs.gid } : {}),
    });
    child.tail.follow(proc.stdout!, process.stdout);
    child.tail.follow(proc.stderr!, process.stderr);
    child.proc = proc;
    child.state = 'starting';
    child.startedAt = Date.now();

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        proc.kill('SIGKILL');
        reject(new Error(`process ${group.name} did not become ready in time`));
      }, this.opts.startTimeoutMs ?? 60_000);
      proc.on('message', (m: ChildMessage) => {
        if (m?.type === 'ready') {
          child.state = 'running';
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            resolve();
          }
        } else if (m?.type === 'fatal' && !settled) {
          settled = true;
          clearTimeout(timer);
          reject(new Error(m.message));
        }
      });
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        child.lastExit = { code, signal, at: Date.now() };
        if (!settled) {
          settled = true;
          reject(new Error(`process ${group.name} exited during start (${signal ?? `code ${code}`})`));
          return;
        }
        this.onExit(child, code, signal);
      });
    });
  }

  private onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || child.state === 'stopping') {
      child.state = 'stopped';
      return;
    }
    const now = Date.now();
    const ranFor = now - child.startedAt;
    child.consecutiveFailures = ranFor >= HEALTHY_AFTER_MS ? 1 : child.consecutiveFailures + 1;
    child.recentExits = [...child.recentExits.filter((t) => now - t < CRASH_LOOP_WINDOW_MS), now];
    const crashLoop = child.recentExits.length >= CRASH_LOOP_EXITS;
    const delay = Math.min(100 * 2 ** (child.consecutiveFailures - 1), MAX_BACKOFF_MS);
    child.state = crashLoop ? 'crash-loop' : 'restarting';
    const log = crashLoop ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger);
    log(
      { process: child.group.name, code, signal, ran_ms: ranFor, restart_in_ms: delay, exits_last_minute: child.recentExits.length },
      crashLoop ? 'process is crash-looping; still restarting with backoff' : 'process exited; restarting',
    );
    child.restartTimer = setTimeout(() => {
      child.restartTimer = undefined;
      if (this.stopping) return;
      child.restarts++;
      this.startChild(child.group, child).then(
        () => this.logger.info({ process: child.group.name, restarts: child.restarts }, 'process restarted'),
        (e: Error) => {
          this.logger.error({ process: child.group.name, err: e.message }, 'restart failed');
          // The exit handler of that attempt has already scheduled the next one, unless it never spawned.
          if (child.proc?.exitCode === null && child.proc.signalCode === null) return;
          if (!child.restartTimer && !this.stopping) this.onExit(child, child.proc?.exitCode ?? null, child.proc?.signalCode ?? null);
        },
      );
    }, delay);
  }

  status(): SupervisorStatus {
    const now = Date.now();
    return {
      version: NEURITE_VERSION,
      data_dir: this.paths.dataDir,
      configured: this.configured,
      ...(this.configured ? { server_name: this.config.server_name } : {}),
      supervisor: { pid: process.pid, uptime_ms: now - this.startedAt, memory: processMemory(process.pid) },
      ...(this.opts.runAs ? { run_as: this.opts.runAs.name } : {}),
      processes: this.layout.map((g) => {
        const c = this.children.get(g.name);
        const pid = c?.proc?.exitCode === null && c.proc.signalCode === null ? c.proc.pid : undefined;
        return {
          name: g.name,
          components: g.components,
          pid,
          state: c?.state ?? 'stopped',
          uptime_ms: c && pid ? now - c.startedAt : 0,
          restarts: c?.restarts ?? 0,
          memory: pid ? processMemory(pid) : undefined,
          ...(c?.lastExit ? { last_exit: c.lastExit } : {}),
        };
      }),
      ...(this.reloading ? { reload: this.reloading } : {}),
    };
  }

  private stopChild(child: Child): Promise<void> {
    if (child.restartTimer) clearTimeout(child.restartTimer);
    const proc = child.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
      child.state = 'stopped';
      return Promise.resolve();
    }
    child.state = 'stopping';
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn({ process: child.group.name }, 'process did not stop in time; killing it');
        proc.kill('SIGKILL');
      }, STOP_TIMEOUT_MS);
      proc.once('exit', () => {
        clearTimeout(timer);
        child.state = 'stopped';
        resolve();
      });
      if (proc.connected) proc.send({ type: 'stop' }, (err) => err && proc.kill('SIGTERM'));
      else proc.kill('SIGTERM');
    });
  }

  private async stopChildren(): Promise<void> {
    const all = [...this.children.values()];
    const gateway = all.filter((c) => c.group.components.includes('gateway'));
    await Promise.all(gateway.map((c) => this.stopChild(c)));
    await Promise.all(all.filter((c) => !gateway.includes(c)).map((c) => this.stopChild(c)));
  }

  /** Gateway first (no new requests), then every other process, then the control socket. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.stopChildren();
    this.userClients?.close();
    if (this.control) {
      await new Promise<void>((r) => this.control!.close(() => r()));
      this.control = undefined;
      rmSync(this.paths.controlSocket, { force: true });
    }
  }
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
