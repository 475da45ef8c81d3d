/**
 * Every failure a client sees is a Matrix error: `{errcode, error}` with the
 * right status. This maps what can go wrong in a request to one.
 */
import type { ServerResponse } from 'node:http';
import { MatrixError } from '../../core/errors.js';
import { IpcError } from '../ipc/errors.js';
import { CORS_HEADERS } from './cors.js';

export function toMatrixError(e: unknown): MatrixError {
  if (e instanceof MatrixError) return e;
  if (e instanceof IpcError) {
    if (e.code === 'UNAVAILABLE') return new MatrixError(503, 'M_UNKNOWN', 'A part of the server is restarting; try again shortly', { retry_after_ms: 1000 });
    if (e.code === 'DEADLINE_EXCEEDED') return new MatrixError(504, 'M_UNKNOWN', 'The server took too long to answer');
    return new MatrixError(500, 'M_UNKNOWN', 'Internal server error');
  }
  const code = (e as { code?: string }).code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new MatrixError(413, 'M_TOO_LARGE', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new MatrixError(400, 'M_NOT_JSON', 'The request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new MatrixError(415, 'M_UNKNOWN', 'Unsupported content type');
    case 'ECONNRESET':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return new MatrixError(400, 'M_UNKNOWN', 'The request was interrupted');
  }
  const status = (e as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new MatrixError(status, 'M_UNKNOWN', (e as Error).message || 'Bad request');
  }
  return new MatrixError(500, 'M_UNKNOWN', 'Internal server error');
}

/** Writes a Matrix error on a raw response (the gateway has no framework). */
export function sendMatrixError(res: ServerResponse, err: MatrixError, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(err.toJSON());
  const retry = err.extra.retry_after_ms;
  res.writeHead(err.status, {
    ...CORS_HEADERS,
    ...headers,
    ...(typeof retry === 'number' ? { 'retry-after': String(Math.ceil(retry / 1000)) } : {}),
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
