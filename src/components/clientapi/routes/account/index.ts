/** Accounts: registration, login, devices, profiles, account data, filters, push rules (issue 4). */
import type { ClientRoutes } from '../types.js';
import { accountManagementRoutes } from './account.js';
import { accountDataRoutes } from './account-data.js';
import { sharedSecretRegisterRoutes } from './admin-register.js';
import { adminModerationRoutes } from './admin-moderation.js';
import { adminReportRoutes } from './admin-reports.js';
import { registrationTokenRoutes } from './admin-registration-tokens.js';
import { serverNoticeRoutes } from './admin-server-notices.js';
import { adminUserRoutes } from './admin-users.js';
import { deviceRoutes } from './devices.js';
import { filterRoutes } from './filters.js';
import { loginRoutes } from './login.js';
import { openIdRoutes } from './openid.js';
import { profileRoutes } from './profile.js';
import { pushRuleRoutes } from './push-rules.js';
import { pusherRoutes } from './pushers.js';
import { registerRoutes } from './register.js';
import { tagRoutes } from './tags.js';
import { threepidRoutes } from './threepid.js';
import { userDirectoryRoutes } from './user-directory.js';
import { whoisRoutes } from './whois.js';

export const accountRoutes: ClientRoutes[] = [
  registerRoutes,
  loginRoutes,
  deviceRoutes,
  accountManagementRoutes,
  threepidRoutes,
  profileRoutes,
  accountDataRoutes,
  tagRoutes,
  openIdRoutes,
  filterRoutes,
  pushRuleRoutes,
  pusherRoutes,
  userDirectoryRoutes,
  registrationTokenRoutes,
  adminUserRoutes,
  adminReportRoutes,
  adminModerationRoutes,
  serverNoticeRoutes,
  whoisRoutes,
  sharedSecretRegisterRoutes,
];
