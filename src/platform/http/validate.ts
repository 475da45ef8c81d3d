/**
 * Request bodies checked against the Matrix spec's schemas, compiled at build
 * time (scripts/build-validators.ts). A body that does not fit is refused
 * with M_BAD_JSON ("valid JSON, but malformed: missing required keys, invalid
 * values") naming the first problem, before the route runs.
 */
import type { preValidationAsyncHookHandler } from 'fastify';
import { MatrixError } from '../../core/errors.js';
import { buildValidator, operations, type ValidationError, type Validator } from '../../generated/validators.js';

export type SpecApi = 'client-server' | 'server-server';

function describe(e: ValidationError): string {
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'the body';
  if (e.keyword === 'required') return `${e.instancePath ? `${where}.` : ''}${String(e.params.missingProperty)} is required`;
  if (e.keyword === 'type') return `${where} must be ${String(e.params.type)}`;
  if (e.keyword === 'enum') return `${where} must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
  return `${where} ${e.message ?? 'is not valid'}`;
}

/** The spec's validator of an operation's request body, e.g. ("client-server", "POST /createRoom"). */
export function specValidator(api: SpecApi, operation: string): (body: unknown) => void {
  const id = operations[`${api} ${operation}`];
  if (!id) throw new Error(`the spec has no request body schema for ${api} ${operation}`);
  // Built at the first request, not at start: most routes of a process are never called on a small board.
  let validate: Validator | undefined;
  return (body) => {
    validate ??= buildValidator(id);
    if (!validate(body)) throw new MatrixError(400, 'M_BAD_JSON', describe(validate.errors![0]!));
  };
}

/** A preValidation hook checking `request.body` against the spec. */
export function specBody(api: SpecApi, operation: string): preValidationAsyncHookHandler {
  const check = specValidator(api, operation);
  return async (request) => check(request.body);
}
