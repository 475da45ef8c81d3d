/**
 * GET for URL previews, refusing addresses the policy refuses: the name is
 * resolved here, every address it resolves to is checked, and the
 * connection goes to the checked address (a second DNS answer cannot
 * swap in another: no rebinding). Redirects are followed a few times, each
 * one checked the same way. One deadline covers the whole fetch.
 */
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { isIP, type LookupFunction } from 'node:net';
import { MatrixError } from '../../../core/errors.js';
import type { AddressPolicy } from './addresses.js';

const MAX_REDIRECTS = 5;
const USER_AGENT = 'Neurite URL preview (Matrix homeserver)';

export function blocked(): MatrixError {
  return new MatrixError(403, 'M_FORBIDDEN', 'This server does not fetch URLs on private, loopback or its own networks');
}

export function unreachable(why: string): MatrixError {
  return new MatrixError(502, 'M_UNKNOWN', `Could not fetch the URL: ${why}`);
}

export interface Fetched {
  url: URL;
  response: IncomingMessage;
}

/** Checks a URL's scheme and form; answers it parsed. */
export function previewableUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'url is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MatrixError(400, 'M_INVALID_PARAM', 'Only http and https URLs are previewed');
  if (u.username !== '' || u.password !== '') throw new MatrixError(400, 'M_INVALID_PARAM', 'URLs with credentials are not previewed');
  return u;
}

async function resolveChecked(host: string, policy: AddressPolicy): Promise<{ address: string; family: number }> {
  const bare = host.replace(/^\[|\]$/g, '');
  let addrs: { address: string; family: number }[];
  if (isIP(bare)) addrs = [{ address: bare, family: isIP(bare) }];
  else {
    try {
      addrs = await lookup(bare, { all: true, verbatim: true });
    } catch {
      throw unreachable('the name does not resolve');
    }
  }
  // One refused address is enough to refuse: which one a client would get is not ours to choose.
  if (addrs.length === 0 || addrs.some((a) => !policy.allows(a.address))) throw blocked();
  return addrs[0]!;
}

/** The response to a GET after redirects; the caller reads (or destroys) it. */
export async function guardedGet(raw: string, policy: AddressPolicy, signal: AbortSignal, accept: string): Promise<Fetched> {
  let url = previewableUrl(raw);
  for (let hop = 0; ; hop++) {
    const pinned = await resolveChecked(url.hostname, policy);
    const pin: LookupFunction = (_host, opts, cb) => {
      if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
      else cb(null, pinned.address, pinned.family);
    };
    const options: RequestOptions = { method: 'GET', headers: { 'user-agent': USER_AGENT, accept }, lookup: pin, signal };
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      // node:https loads on the first https preview: with node:tls it costs about 2.5 MB.
      const req = (url.protocol === 'https:' ? process.getBuiltinModule('node:https').request : httpRequest)(url, options, resolve);
      req.on('error', (e: Error) => reject(signal.aborted ? unreachable('it took too long') : unreachable(e.message)));
      req.end();
    });
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      response.resume();
      if (hop >= MAX_REDIRECTS) throw unreachable('too many redirects');
      url = previewableUrl(new URL(location, url).toString());
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      throw unreachable(`the server answered ${status}`);
    }
    return { url, response };
  }
}

/** Reads at most `max` bytes of a response (the head of a page is where its metadata is). */
export async function readHead(response: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= max) break;
    }
  } catch (e) {
    if (size === 0) throw unreachable((e as Error).message);
  } finally {
    response.destroy();
  }
  return Buffer.concat(chunks).subarray(0, max);
}
