/**
 * Failures of an internal call that are about the call, not about the
 * request: the callee is down or restarting, the deadline passed, or the
 * callee failed in an unexpected way. The HTTP layer maps them to 503, 504
 * and 500 Matrix errors. A MatrixError thrown by the callee reaches the
 * caller as the same MatrixError.
 */
export type IpcErrorCode = 'UNAVAILABLE' | 'DEADLINE_EXCEEDED' | 'INTERNAL';

export class IpcError extends Error {
  constructor(
    readonly code: IpcErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'IpcError';
  }
}

export function isIpcError(e: unknown): e is IpcError {
  return e instanceof IpcError;
}
