/**
 * Response bodies checked against the Matrix spec's response schemas
 * (spec/matrix-v1.19/api/<api>/*.yaml), with ajv as the spec's README shows:
 * Ajv2020, strict off for the x-* keywords, the mx-* formats registered.
 *
 *   const check = await specResponse('client-server', 'POST /createRoom');
 *   t.equal(check(body), undefined)   // or a description of the first problems
 */
import { join, resolve } from 'node:path';
import { readdirSync } from 'node:fs';
import $RefParser from '@apidevtools/json-schema-ref-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

const SPEC = resolve(import.meta.dirname, '../../spec/matrix-v1.19/api');

type Operation = {
  requestBody?: { content?: Record<string, { schema?: object }> };
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
};
type Doc = { paths?: Record<string, Record<string, Operation>> };

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
for (const [name, re] of Object.entries({
  'mx-user-id': /^@/,
  'mx-room-id': /^!/,
  'mx-event-id': /^\$/,
  'mx-room-alias': /^#/,
  'mx-mxc-uri': /^mxc:\/\//,
  'mx-server-name': /^[^\s/]+$/,
  'mx-unpadded-base64': /^[A-Za-z0-9+/]*$/,
  'mx-urlsafe-unpadded-base64': /^[A-Za-z0-9_-]*$/,
})) ajv.addFormat(name, re);
for (const name of ['int64', 'int32', 'float', 'double', 'byte', 'binary']) ajv.addFormat(name, true);

const docs = new Map<string, Promise<Doc[]>>();

function load(api: string): Promise<Doc[]> {
  let p = docs.get(api);
  if (!p) {
    const dir = join(SPEC, api);
    p = Promise.all(
      readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .map(
          (f) =>
            $RefParser.dereference(join(dir, f), {
              dereference: { circular: 'ignore' },
              parse: { yaml: { order: 1, canParse: /\.ya?ml$/i, parse: (file: { data: Buffer | string }) => parse(file.data.toString()) } },
            }) as Promise<Doc>,
        ),
    );
    docs.set(api, p);
  }
  return p;
}

export type ResponseCheck = (body: unknown) => string | undefined;

/**
 * The spec's schema of an operation's response ("METHOD /path" as the spec
 * writes the path, e.g. "GET /rooms/{roomId}/state"); the check returns
 * undefined when the body fits, else the problems. `oneOf` picks one
 * alternative of a response schema made of overlapping ones.
 */
export async function specResponse(api: 'client-server' | 'server-server', operation: string, status = '200', opts: { oneOf?: number } = {}): Promise<ResponseCheck> {
  const [method, path] = operation.split(' ') as [string, string];
  for (const doc of await load(api)) {
    const op = doc.paths?.[path]?.[method.toLowerCase()] ?? doc.paths?.[`${path} `]?.[method.toLowerCase()];
    let schema = op?.responses?.[status]?.content?.['application/json']?.schema as { oneOf?: object[] } | undefined;
    if (!schema) continue;
    // Some responses are `oneOf` alternatives that overlap (an event is an object too): check against one branch.
    if (opts.oneOf !== undefined) schema = schema.oneOf![opts.oneOf]!;
    const validate = ajv.compile(schema);
    return (body) => (validate(body) ? undefined : ajv.errorsText(validate.errors, { dataVar: 'body' }));
  }
  throw new Error(`the spec has no ${status} response schema for ${api} ${operation}`);
}

/** The spec's schema of an operation's request body: what a server sends to another (a push gateway). */
export async function specRequest(api: 'push-gateway' | 'application-service', operation: string): Promise<ResponseCheck> {
  const [method, path] = operation.split(' ') as [string, string];
  for (const doc of await load(api)) {
    const schema = doc.paths?.[path]?.[method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema;
    if (!schema) continue;
    const validate = ajv.compile(schema);
    return (body) => (validate(body) ? undefined : ajv.errorsText(validate.errors, { dataVar: 'body' }));
  }
  throw new Error(`the spec has no request schema for ${api} ${operation}`);
}
