/** The JSON shapes internal calls use on the wire. */
import { MatrixError, type ErrCode } from '../../core/errors.js';
import { IpcError } from './errors.js';

export const DEADLINE_HEADER = 'x-neurite-deadline';

export type WireError =
  | { type: 'matrix'; status: number; errcode: ErrCode; message: string; extra: Record<string, unknown> }
  | { type: 'unavailable'; message: string }
  | { type: 'deadline'; message: string }
  | { type: 'internal'; message: string };

export function toWireError(e: unknown): WireError {
  if (e instanceof MatrixError) return { type: 'matrix', status: e.status, errcode: e.errcode, message: e.message, extra: e.extra };
  if (e instanceof IpcError) {
    // An error from a further hop keeps its kind, so a caller sees why.
    if (e.code === 'UNAVAILABLE') return { type: 'unavailable', message: e.message };
    if (e.code === 'DEADLINE_EXCEEDED') return { type: 'deadline', message: e.message };
  }
  return { type: 'internal', message: e instanceof Error ? e.message : String(e) };
}

export function fromWireError(w: WireError, what: string): Error {
  switch (w.type) {
    case 'matrix':
      return new MatrixError(w.status, w.errcode, w.message, w.extra);
    case 'unavailable':
      return new IpcError('UNAVAILABLE', w.message);
    case 'deadline':
      return new IpcError('DEADLINE_EXCEEDED', w.message);
    default:
      return new IpcError('INTERNAL', `${what} failed: ${w.message}`);
  }
}
