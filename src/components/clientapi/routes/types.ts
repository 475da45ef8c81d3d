import type { FastifyInstance } from 'fastify';
import type { ClientApiContext } from '../context.js';

/** A group of ClientAPI routes: registered on the public app with the shared context. */
export type ClientRoutes = (app: FastifyInstance, cctx: ClientApiContext) => Promise<void> | void;
