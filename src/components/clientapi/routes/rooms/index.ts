/** Rooms: creation, membership, sending, state, aliases and the directory (issue 4). */
import type { ClientRoutes } from '../types.js';

export const roomRoutes: ClientRoutes[] = [];
