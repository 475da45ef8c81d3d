/** Ephemeral data: typing, receipts and read markers, presence, send-to-device (issue 5), served by the EDUServer. */
import type { ClientRoutes } from '../types.js';
import { presenceRoutes } from './presence.js';
import { receiptRoutes } from './receipts.js';
import { toDeviceRoutes } from './to-device.js';
import { typingRoutes } from './typing.js';

export const eduRoutes: ClientRoutes[] = [typingRoutes, receiptRoutes, presenceRoutes, toDeviceRoutes];
