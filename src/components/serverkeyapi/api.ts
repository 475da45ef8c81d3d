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

/** A server's public keys as a verifier needs them: key id → key and until when it may sign. */
export interface VerifyKeys {
  server_name: string;
  keys: Record<string, { key: string; valid_until_ts: number }>;
}

export interface ServerKeyAPI {
  /** This server's own key document, signed by itself. */
  localKeys(req: Record<string, never>, ctx?: CallContext): Promise<ServerKeys>;
  /**
   * The keys a server signs with, for verifying its signatures. This server's
   * own keys now; other servers' keys, fetched and cached, arrive with the
   * federation issue (until then they are unknown: empty `keys`).
   */
  verifyKeys(req: { server_name: string }, ctx?: CallContext): Promise<VerifyKeys>;
}

export const serverKeyApi = defineApi<ServerKeyAPI>('serverkeyapi', { localKeys: { idempotent: true }, verifyKeys: { idempotent: true } });
