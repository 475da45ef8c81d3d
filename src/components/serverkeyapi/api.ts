/**
 * ServerKeyAPI: the server's signing keys as other servers see them, and
 * (with the federation issue) the keys of other servers, fetched and cached.
 */
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

/** A key document as `/_matrix/key/v2/server` publishes it (server-server API "Publishing Keys"). */
export interface ServerKeys {
  server_name: string;
  valid_until_ts: number;
  verify_keys: Record<string, { key: string }>;
  old_verify_keys: Record<string, { key: string; expired_ts: number }>;
  signatures: Record<string, Record<string, string>>;
}

export interface ServerKeyAPI {
  /** This server's own key document, signed by itself. */
  localKeys(req: Record<string, never>, ctx?: CallContext): Promise<ServerKeys>;
}

export const serverKeyApi = defineApi<ServerKeyAPI>('serverkeyapi', { localKeys: { idempotent: true } });
