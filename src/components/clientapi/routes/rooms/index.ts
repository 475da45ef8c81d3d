/** Rooms: creation, membership, sending, state, aliases and the directory, discovery (issue 4); summaries, the space hierarchy, reports. */
import type { ClientRoutes } from '../types.js';
import { createRoomRoutes } from './create.js';
import { directoryRoutes } from './directory.js';
import { discoveryRoutes } from './discovery.js';
import { hierarchyRoutes } from './hierarchy.js';
import { membershipRoutes } from './membership.js';
import { mutualRoomRoutes } from './mutual.js';
import { readRoutes } from './read.js';
import { reportRoutes } from './report.js';
import { sendRoutes } from './send.js';
import { summaryRoutes } from './summary.js';

export const roomRoutes: ClientRoutes[] = [createRoomRoutes, membershipRoutes, sendRoutes, readRoutes, directoryRoutes, summaryRoutes, hierarchyRoutes, reportRoutes, mutualRoomRoutes, discoveryRoutes];
