/** Accounts: registration, login, devices, profiles, account data, filters, push rules (issue 4). */
import type { ClientRoutes } from '../types.js';
import { loginRoutes } from './login.js';
import { registerRoutes } from './register.js';

export const accountRoutes: ClientRoutes[] = [registerRoutes, loginRoutes];
