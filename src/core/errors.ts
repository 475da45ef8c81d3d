/**
 * Matrix error codes (client-server API "Standard error response") and the
 * error type every layer throws; the HTTP layer turns it into
 * `{errcode, error, ...extra}` with its status.
 */

export type ErrCode =
  | 'M_FORBIDDEN'
  | 'M_UNKNOWN_TOKEN'
  | 'M_MISSING_TOKEN'
  | 'M_USER_LOCKED'
  | 'M_USER_SUSPENDED'
  | 'M_BAD_JSON'
  | 'M_NOT_JSON'
  | 'M_NOT_FOUND'
  | 'M_LIMIT_EXCEEDED'
  | 'M_UNRECOGNIZED'
  | 'M_UNKNOWN'
  | 'M_UNAUTHORIZED'
  | 'M_USER_DEACTIVATED'
  | 'M_USER_IN_USE'
  | 'M_INVALID_USERNAME'
  | 'M_ROOM_IN_USE'
  | 'M_INVALID_ROOM_STATE'
  | 'M_THREEPID_IN_USE'
  | 'M_THREEPID_NOT_FOUND'
  | 'M_THREEPID_AUTH_FAILED'
  | 'M_THREEPID_DENIED'
  | 'M_SERVER_NOT_TRUSTED'
  | 'M_UNSUPPORTED_ROOM_VERSION'
  | 'M_INCOMPATIBLE_ROOM_VERSION'
  | 'M_BAD_STATE'
  | 'M_GUEST_ACCESS_FORBIDDEN'
  | 'M_CAPTCHA_NEEDED'
  | 'M_CAPTCHA_INVALID'
  | 'M_MISSING_PARAM'
  | 'M_INVALID_PARAM'
  | 'M_TOO_LARGE'
  | 'M_EXCLUSIVE'
  | 'M_RESOURCE_LIMIT_EXCEEDED'
  | 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM'
  | 'M_INVITE_BLOCKED'
  | 'M_THREEPID_MEDIUM_NOT_SUPPORTED'
  | 'M_WEAK_PASSWORD'
  | 'M_WRONG_ROOM_KEYS_VERSION'
  | 'M_INVALID_SIGNATURE'
  | 'M_NOT_YET_UPLOADED'
  | 'M_CANNOT_OVERWRITE_MEDIA'
  | 'M_UNKNOWN_POS'
  | 'M_UNACTIONABLE'
  | 'M_BAD_ALIAS'
  | 'M_PROFILE_TOO_LARGE'
  | 'M_KEY_TOO_LARGE';

export class MatrixError extends Error {
  readonly status: number;
  readonly errcode: ErrCode;
  /** Extra top-level fields of the error body, e.g. retry_after_ms, soft_logout. */
  readonly extra: Record<string, unknown>;

  constructor(status: number, errcode: ErrCode, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'MatrixError';
    this.status = status;
    this.errcode = errcode;
    this.extra = extra;
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const forbidden = (msg: string) => new MatrixError(403, 'M_FORBIDDEN', msg);
export const notFound = (msg: string) => new MatrixError(404, 'M_NOT_FOUND', msg);
export const badJson = (msg: string) => new MatrixError(400, 'M_BAD_JSON', msg);
export const missingParam = (msg: string) => new MatrixError(400, 'M_MISSING_PARAM', msg);
export const invalidParam = (msg: string) => new MatrixError(400, 'M_INVALID_PARAM', msg);
export const unrecognized = (msg = 'Unrecognized request') => new MatrixError(404, 'M_UNRECOGNIZED', msg);

export function isMatrixError(e: unknown): e is MatrixError {
  return e instanceof MatrixError;
}
