/**
 * Runs some components in this process, on the real host (Unix socket,
 * LevelDB, log), and hands out clients of their APIs that go over the
 * socket, as another process would call them.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { initDataDir } from '../../src/platform/config/init.js';
import type { ComponentName } from '../../src/platform/config/components.js';
import { loadConfig } from '../../src/platform/config/load.js';
import { dataPaths, processSocketPath } from '../../src/platform/config/paths.js';
import type { ProcessGroup } from '../../src/platform/config/layout.js';
import type { ComponentLoader } from '../../src/platform/runtime/component.js';
import { ApiDirectory } from '../../src/platform/ipc/directory.js';
import { runProcessGroup, type RunningGroup } from '../../src/platform/runtime/host.js';
import { loadComponent } from '../../src/components/registry.js';
import { tempDir } from './server.js';

export interface ComponentHarness {
  dataDir: string;
  serverName: string;
  group: RunningGroup;
  /** Clients that call over the group's Unix socket. */
  apis: ApiDirectory;
  stop(): Promise<void>;
  /** Stops and starts the same components on the same data directory. */
  restart(): Promise<ComponentHarness>;
}

export async function startComponents(components: ComponentName[], opts: { dataDir?: string; serverName?: string; loader?: ComponentLoader } = {}): Promise<ComponentHarness> {
  const serverName = opts.serverName ?? 'test.neurite.local';
  const dataDir = opts.dataDir ?? join(tempDir(), 'data');
  if (!opts.dataDir) initDataDir({ dataDir, serverName, tls: 'off', bind: '127.0.0.1', mode: 'monolith' });
  const config = loadConfig(dataDir)!;
  const paths = dataPaths(dataDir);
  const group: ProcessGroup = { name: 'test', components };
  const layout = [group];
  const logger = pino({ level: process.env.NEURITE_TEST_LOG ?? 'silent' });
  const running = await runProcessGroup({ group, layout, configured: true, config, paths, loader: opts.loader ?? loadComponent, logger });
  const apis = new ApiDirectory({ socketFor: () => processSocketPath(paths, 'test') });
  const harness: ComponentHarness = {
    dataDir,
    serverName,
    group: running,
    apis,
    stop: async () => {
      apis.close();
      await running.stop();
    },
    restart: async () => {
      await harness.stop();
      return startComponents(components, { dataDir, serverName, loader: opts.loader });
    },
  };
  return harness;
}
