/**
 * A process's Unix socket serves two kinds of connection: SocketClient's,
 * whose every request is an internal call (served by hand, connection.ts),
 * and the gateway's (forwarded public requests) and the health probe's,
 * which node:http serves. The first bytes tell them apart: a connection
 * that opens with `POST /_internal/` is SocketClient's.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { serveCalls } from './connection.js';
import type { IpcServer } from './server.js';

const CALL_PREFIX = Buffer.from('POST /_internal/');

export interface ProcessSocket {
  server: NetServer;
  /** Ends every open connection, both kinds (on stop, after the listener closed). */
  closeAllConnections(): void;
}

/** `firstBytesMs`: how long a connection may stay silent before it is told apart (node:http's headersTimeout). */
export function createProcessSocket(ipc: IpcServer, http: HttpServer, opts: { firstBytesMs?: number } = {}): ProcessSocket {
  const open = new Set<Socket>();
  const server = createServer((socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.setTimeout(opts.firstBytesMs ?? 60_000, () => socket.destroy());
    let seen: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, CALL_PREFIX.length);
      const maybeCall = seen.subarray(0, n).equals(CALL_PREFIX.subarray(0, n));
      // Too few bytes yet to tell.
      if (maybeCall && n < CALL_PREFIX.length) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      socket.pause();
      if (maybeCall) return serveCalls(ipc, socket, seen);
      // node:http takes the connection over, starting with what was read.
      socket.unshift(seen);
      http.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
    // Until one of them takes it, an error only ends the connection.
    socket.on('error', () => socket.destroy());
  });
  return {
    server,
    closeAllConnections: () => {
      http.closeAllConnections();
      for (const s of open) s.destroy();
    },
  };
}
