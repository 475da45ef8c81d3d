/** Setup: what other components may ask of the setup wizard and dashboard. */
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

export interface SetupAPI {
  /** Ends expired dashboard and setup sessions (the maintenance job); says how many. */
  pruneSessions(req: Record<string, never>, ctx?: CallContext): Promise<{ removed: number }>;
}

export const setupApi = defineApi<SetupAPI>('setup', { pruneSessions: { idempotent: true } });
