/**
 * The ClientAPI's internal API: what another component tells it. Only the
 * UserAPI calls it, to have the token answers kept here forgotten before a
 * revocation is answered (token-cache.ts).
 */
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

export interface ClientApiInternal {
  /** Forgets every token answer kept from the UserAPI. */
  forgetTokens(req: Record<string, never>, ctx?: CallContext): Promise<void>;
}

// A ClientAPI that is restarting keeps nothing: the UserAPI waits for it no longer than this.
export const clientApiInternal = defineApi<ClientApiInternal>('clientapi', { forgetTokens: { idempotent: true, timeoutMs: 1000 } }, 'internal');
