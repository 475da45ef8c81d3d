/** End-to-end encryption keys and key backups (issue 8), served by the KeyServer. */
import type { ClientRoutes } from '../types.js';
import { backupRoutes } from './backup.js';
import { crossSigningRoutes } from './cross-signing.js';
import { deviceKeyRoutes } from './device-keys.js';

export const keyRoutes: ClientRoutes[] = [deviceKeyRoutes, crossSigningRoutes, backupRoutes];
