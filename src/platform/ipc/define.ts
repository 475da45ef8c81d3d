/**
 * Internal APIs: a component's `api.ts` declares an interface of async
 * methods taking one JSON argument, plus a descriptor naming those methods
 * and which of them may be retried. Callers get the same interface whether
 * the callee runs in their process (a direct call) or in another one (HTTP
 * over the callee's Unix socket).
 */
import type { ComponentName } from '../config/components.js';

/** Per-call information handed to an implementation. */
export interface CallContext {
  /** Aborted when the caller gives up (deadline, disconnect). */
  signal: AbortSignal;
  /** Epoch milliseconds after which the caller no longer waits. */
  deadline: number;
}

export type ApiMethod = (req: any, ctx?: CallContext) => Promise<any>;
export type ApiShape<T> = { [K in keyof T]: ApiMethod };

export interface MethodSpec {
  /** Safe to send again when the first attempt may or may not have run. */
  idempotent?: boolean;
  /** How long a caller waits by default. */
  timeoutMs?: number;
}

export interface ApiDescriptor<T extends ApiShape<T>> {
  readonly component: ComponentName;
  /** Distinguishes several APIs of one component (e.g. its log reader). */
  readonly namespace: string;
  readonly methods: { readonly [K in keyof T & string]: MethodSpec };
}

export function defineApi<T extends ApiShape<T>>(
  component: ComponentName,
  methods: { [K in keyof T & string]: MethodSpec },
  namespace = 'api',
): ApiDescriptor<T> {
  return { component, namespace, methods };
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export function methodPath(desc: { component: string; namespace: string }, method: string): string {
  return `/_internal/${desc.component}/${desc.namespace}/${method}`;
}
