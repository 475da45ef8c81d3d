/**
 * Some of the ClientAPI's route groups on an in-process fastify app, over
 * components a test started (startComponents): what the EDU and key
 * harnesses test through `app.inject`. Rate limits off.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createClientApiContext, type ClientApiContext } from '../../src/components/clientapi/context.js';
import type { ClientRoutes } from '../../src/components/clientapi/routes/types.js';
import { eduServerApi } from '../../src/components/eduserver/api.js';
import { keyServerApi } from '../../src/components/keyserver/api.js';
import { roomserverApi } from '../../src/components/roomserver/api.js';
import { userApi } from '../../src/components/userapi/api.js';
import { loadConfig } from '../../src/platform/config/load.js';
import { dataPaths } from '../../src/platform/config/paths.js';
import { createPublicApp } from '../../src/platform/http/app.js';
import type { ComponentHarness } from './components.js';

export async function clientRoutesApp(comps: ComponentHarness, o: { dataDir: string; serverName: string; routes: ClientRoutes[]; keyserver?: boolean }): Promise<{ app: FastifyInstance; cctx: ClientApiContext }> {
  const cctx = createClientApiContext({
    serverName: o.serverName,
    config: { ...loadConfig(o.dataDir)!, rate_limits: false },
    paths: dataPaths(o.dataDir),
    roomserver: comps.apis.get(roomserverApi),
    userapi: comps.apis.get(userApi),
    eduserver: comps.apis.get(eduServerApi),
    ...(o.keyserver ? { keyserver: comps.apis.get(keyServerApi) } : {}),
  });
  const app = createPublicApp({ logger: pino({ level: process.env.NEURITE_TEST_LOG ?? 'silent' }) });
  for (const register of o.routes) await register(app, cctx);
  await app.ready();
  return { app, cctx };
}
