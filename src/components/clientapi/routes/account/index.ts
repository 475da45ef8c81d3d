/** Accounts: registration, login, devices, profiles, account data, filters, push rules (issue 4). */
import type { ClientRoutes } from '../types.js';

export const accountRoutes: ClientRoutes[] = [];
