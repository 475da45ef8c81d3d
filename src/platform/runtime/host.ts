/**
 * Runs one process group: the components the layout puts in this process.
 * The process listens on its Unix socket for internal calls, log reads and
 * (routed by the gateway) public requests for its components; it starts its
 * components, mounts their routes on one public app, and stops them in
 * order: gateway first, then the rest, databases last.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { SigningKey } from '../../core/ed25519.js';
import { MatrixError } from '../../core/errors.js';
import type { ComponentName } from '../config/components.js';
import { processOf, type ProcessGroup } from '../config/layout.js';
import { processSocketPath, resolveDataPath, type DataPaths } from '../config/paths.js';
import type { NeuriteConfig } from '../config/schema.js';
import { readSigningKey } from '../config/signing-key.js';
import { sendMatrixError } from '../http/errors.js';
import type { RawHandler } from '../http/app.js';
import { ApiDirectory } from '../ipc/directory.js';
import { IpcServer } from '../ipc/server.js';
import { createProcessSocket } from '../ipc/socket.js';
import { LogConsumer } from '../log/consumer.js';
import { onQuiet } from '../memory/quiet.js';
import { LogProducer } from '../log/producer.js';
import { logAdminApi, logReaderApi } from '../log/reader-api.js';
import { openComponentDatabase } from '../storage/index.js';
import type { ComponentContext, ComponentInstance, ComponentLoader, Upstream } from './component.js';

export interface HostOptions {
  group: ProcessGroup;
  layout: ProcessGroup[];
  configured: boolean;
  config: NeuriteConfig;
  paths: DataPaths;
  loader: ComponentLoader;
  logger: Logger;
}

type ComponentState = 'starting' | 'running' | 'stopping' | 'failed';

interface Running {
  name: ComponentName;
  state: ComponentState;
  instance?: ComponentInstance;
  stops: (() => Promise<void> | void)[];
}

export interface RunningGroup {
  readonly socketPath: string;
  /** This process's view of every API: direct calls to the components it runs. */
  readonly apis: ApiDirectory;
  health(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function runProcessGroup(opts: HostOptions): Promise<RunningGroup> {
  const { group, layout, paths, logger } = opts;
  const started = Date.now();
  const socketPath = processSocketPath(paths, group.name);
  const ipc = new IpcServer((err, path) => logger.error({ err, path }, 'internal call failed'));
  const apis = new ApiDirectory(
    {
      socketFor: (c) => {
        if (group.components.includes(c)) return undefined;
        const owner = processOf(layout, c);
        if (!owner) throw new Error(`no process runs ${c}`);
        return processSocketPath(paths, owner.name);
      },
    },
    ipc,
  );
  const running = new Map<ComponentName, Running>();
  let publicHandler: RawHandler | undefined;
  let routesMounted = false;
  let app: FastifyInstance | undefined;
  let signingKey: SigningKey | undefined;

  const health = async (): Promise<Record<string, unknown>> => {
    const components: Record<string, unknown> = {};
    for (const r of running.values()) {
      let detail: Record<string, unknown> = {};
      try {
        detail = (await r.instance?.health?.()) ?? {};
      } catch (e) {
        detail = { error: (e as Error).message };
      }
      components[r.name] = { state: r.state, ...detail };
    }
    return { process: group.name, pid: process.pid, uptime_ms: Date.now() - started, components, memory: process.memoryUsage() };
  };

  const onSocketRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (url.startsWith('/_internal/')) {
      if (url === '/_internal/health') {
        void health().then((h) => {
          const body = JSON.stringify(h);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
        return;
      }
      return ipc.handle(req, res);
    }
    if (publicHandler) return publicHandler(req, res);
    req.resume();
    // The socket listens before the components start: a public request then is early, not wrong.
    if (!routesMounted) return sendMatrixError(res, new MatrixError(503, 'M_UNKNOWN', `${group.name} is starting; try again shortly`, { retry_after_ms: 1000 }));
    sendMatrixError(res, new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request'));
  };

  mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
  rmSync(socketPath, { force: true });
  const http: Server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, onSocketRequest);
  // Internal calls are served by hand; node:http gets the rest (src/platform/ipc/socket.ts).
  const { server, closeAllConnections } = createProcessSocket(ipc, http);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(socketPath, 0o600);

  const contextFor = (name: ComponentName, r: Running): ComponentContext => {
    const clog = logger.child({ component: name });
    return {
      name,
      configured: opts.configured,
      config: opts.config,
      paths,
      logger: clog,
      apis,
      signingKey: () => (signingKey ??= readSigningKey(resolveDataPath(paths, opts.config.signing_key))),
      openDatabase: async (dbOpts) => {
        const db = await openComponentDatabase(paths.dataDir, name, {
          durability: opts.config.durability,
          // What was queued after a failed write may depend on it: restart from what is on disk.
          onWriteFailure: (err) => {
            clog.fatal({ err }, 'database write failed; restarting this process');
            setImmediate(() => process.exit(75));
          },
          ...dbOpts,
        });
        r.stops.push(() => db.close());
        r.stops.push(onQuiet(() => db.writeOutMemtable()));
        return db;
      },
      openProducer: async (db, topics) => {
        const producer = new LogProducer(db, topics, clog);
        await producer.open();
        apis.provide(logReaderApi(name), producer);
        apis.provide(logAdminApi(name), producer);
        producer.startPruning();
        r.stops.push(() => producer.close());
        return producer;
      },
      startConsumer: async (copts) => {
        const consumer = new LogConsumer({ ...copts, reader: apis.get(logReaderApi(copts.topic.producer)), logger: clog });
        await consumer.start();
        r.stops.push(() => consumer.stop());
        return consumer;
      },
      onStop: (fn) => {
        r.stops.push(fn);
      },
      onQuiet: (fn) => {
        r.stops.push(onQuiet(fn));
      },
      routeTo: (component): Upstream => {
        if (group.components.includes(component)) {
          return { kind: 'local', handle: (req, res) => (publicHandler ? publicHandler(req, res) : onSocketRequest(req, res)) };
        }
        const owner = processOf(layout, component);
        return owner ? { kind: 'socket', socketPath: processSocketPath(paths, owner.name) } : { kind: 'none' };
      },
    };
  };

  const startOne = async (name: ComponentName): Promise<void> => {
    const r: Running = { name, state: 'starting', stops: [] };
    running.set(name, r);
    try {
      const mod = await opts.loader(name);
      r.instance = await mod.start(contextFor(name, r));
      r.state = 'running';
      logger.debug({ component: name }, 'component started');
    } catch (e) {
      r.state = 'failed';
      throw e;
    }
  };

  const stopOne = async (r: Running): Promise<void> => {
    r.state = 'stopping';
    for (const fn of r.stops.splice(0).reverse()) {
      try {
        await fn();
      } catch (e) {
        logger.error({ err: e, component: r.name }, 'error while stopping');
      }
    }
  };

  const stop = async (): Promise<void> => {
    const gateway = running.get('gateway');
    if (gateway) await stopOne(gateway);
    await Promise.all([...running.values()].filter((r) => r.name !== 'gateway').map(stopOne));
    if (app) await app.close().catch(() => {});
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      closeAllConnections();
    });
    rmSync(socketPath, { force: true });
    apis.close();
  };

  try {
    await Promise.all(group.components.filter((c) => c !== 'gateway').map(startOne));
    const withRoutes = [...running.values()].filter((r) => r.instance?.routes);
    if (withRoutes.length > 0) {
      // fastify is loaded only by processes that serve public routes: it is
      // the largest part of a small process's memory.
      const { createPublicApp, namedPlugin } = await import('../http/app.js');
      app = createPublicApp({ logger });
      for (const r of withRoutes) await app.register(namedPlugin(r.name, r.instance!.routes!));
      await app.ready();
      const routing = app.routing.bind(app);
      publicHandler = (req, res) => routing(req, res);
    }
    routesMounted = true;
    if (group.components.includes('gateway')) await startOne('gateway');
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }

  return { socketPath, apis, health, stop };
}
