/**
 * Receives a body into a temp file: streamed chunk by chunk (memory stays
 * flat whatever the size), hashed on the way, cut off as soon as it passes
 * the limit, synced before it counts as received. Whatever goes wrong, the
 * temp file is gone afterwards.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MatrixError } from '../../core/errors.js';
import { unlinkQuietly } from './files.js';

export interface Received {
  tmpPath: string;
  sha256: string;
  size: number;
}

/** Errors of a full disk (or a full quota of the file system). */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * The spec has no code for a full disk; Synapse answers 500 M_UNKNOWN. 507
 * (Insufficient Storage) says what happened, to the client and in the logs.
 * `reserve`: refused to keep media.min_free_bytes free; otherwise the disk
 * itself said ENOSPC.
 */
export function diskFull(reserve = false): MatrixError {
  return new MatrixError(
    507,
    'M_UNKNOWN',
    reserve ? 'The server has no space left for this file (its disk reserve is reached)' : 'The server has no space left: its disk is full',
  );
}

export function tooLarge(limit: number): MatrixError {
  return new MatrixError(413, 'M_TOO_LARGE', `Cannot upload files larger than ${formatBytes(limit)}`);
}

/** `room`: what the disk reserve leaves; passing it is a full disk, not a too-large file. */
export async function receive(body: Readable, tmpPath: string, limit: number, room = Number.MAX_SAFE_INTEGER): Promise<Received> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > limit) throw tooLarge(limit);
      if (size > room) throw diskFull(true);
      hash.update(chunk);
      yield chunk;
    }
  };
  // The request is piped through a stream of our own: when the pipeline
  // fails it destroys its streams, and destroying the request would take
  // its socket, and with it the answer saying why.
  const source = new PassThrough();
  const onError = (e: Error) => source.destroy(e);
  const onClose = () => {
    if (!body.readableEnded) source.destroy(interrupted());
  };
  body.on('error', onError);
  body.on('close', onClose);
  body.pipe(source);
  try {
    // flush: the file is synced before close, so a committed upload survives a power cut.
    await pipeline(source, meter, createWriteStream(tmpPath, { flags: 'wx', mode: 0o640, flush: true }));
  } catch (e) {
    await unlinkQuietly(tmpPath).catch(() => undefined);
    throw receiveError(e);
  } finally {
    body.off('error', onError);
    body.off('close', onClose);
    body.unpipe(source);
  }
  return { tmpPath, sha256: hash.digest('hex'), size };
}

function interrupted(): MatrixError {
  return new MatrixError(400, 'M_UNKNOWN', 'The upload was interrupted');
}

function receiveError(e: unknown): unknown {
  if (e instanceof MatrixError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== undefined && NO_SPACE.has(code)) return diskFull();
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (e as Error).message === 'aborted') return interrupted();
  return e;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3} GiB`;
  if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
