import { accountRoutes } from './account/index.js';
import { eduRoutes } from './edu/index.js';
import { keyRoutes } from './keys/index.js';
import { roomRoutes } from './rooms/index.js';
import type { ClientRoutes } from './types.js';
import { versionsRoutes } from './versions.js';

/** Every ClientAPI route group, in registration order. */
export const clientRoutes: ClientRoutes[] = [versionsRoutes, ...accountRoutes, ...roomRoutes, ...eduRoutes, ...keyRoutes];
