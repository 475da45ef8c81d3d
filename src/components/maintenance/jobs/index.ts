/**
 * Every scheduled job, in the order the dashboard lists them. A new job is a
 * JobDefinition (types.ts) in its own file, added to this list.
 */
import { expiredLogins } from './expired-logins.js';
import { expiredTokensAndSessions } from './expired.js';
import { healthSampling } from './health.js';
import { logPruning } from './log-pruning.js';
import { mediaCleanup, mediaRetention } from './media.js';
import type { JobDefinition } from './types.js';
import { updateCheck } from './update-check.js';
import { updateOutcome } from './update-outcome.js';

export const JOBS: JobDefinition[] = [healthSampling, logPruning, expiredLogins, expiredTokensAndSessions, mediaRetention, mediaCleanup, updateCheck, updateOutcome];
