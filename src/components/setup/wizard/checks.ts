/** Wizard checks that need the machine: is a port free, can a file be read. */
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';

/** Whether `port` can be listened on at `bind` now (something else may hold it). */
export function portFree(bind: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) =>
      resolve(e.code === 'EADDRINUSE' ? `Port ${port} is already used by another program on this device.` : e.code === 'EACCES' ? `Port ${port} needs privileges this server does not have; choose one above 1023.` : `Port ${port} cannot be used: ${e.code ?? e.message}.`),
    );
    s.listen(port, bind, () => s.close(() => resolve(undefined)));
  });
}

export function fileReadable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return undefined;
  } catch {
    return `${path} does not exist or cannot be read by the server.`;
  }
}
