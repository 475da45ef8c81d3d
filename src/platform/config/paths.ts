/** Where everything lives under a data directory. */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export interface DataPaths {
  dataDir: string;
  configFile: string;
  keysDir: string;
  dbDir: string;
  mediaDir: string;
  /** Unix sockets and the supervisor's control socket. */
  runDir: string;
  controlSocket: string;
}

// sockaddr_un holds 108 bytes; leave room for the longest process name.
const MAX_RUN_DIR = 108 - '/federationsender.sock'.length - 1;

export function dataPaths(dataDir: string): DataPaths {
  const dir = resolve(dataDir);
  let runDir = join(dir, 'run');
  if (Buffer.byteLength(runDir) > MAX_RUN_DIR) {
    // Deep data directories (tests, unusual mounts) get a short private run dir instead.
    runDir = join(tmpdir(), `neurite-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
  }
  return {
    dataDir: dir,
    configFile: join(dir, 'neurite.yaml'),
    keysDir: join(dir, 'keys'),
    dbDir: join(dir, 'db'),
    mediaDir: join(dir, 'media'),
    runDir,
    controlSocket: join(runDir, 'control.sock'),
  };
}

export function processSocketPath(paths: DataPaths, processName: string): string {
  return join(paths.runDir, `${processName}.sock`);
}

/** A path from the config file: relative ones are relative to the data directory. */
export function resolveDataPath(paths: DataPaths, p: string): string {
  return isAbsolute(p) ? p : join(paths.dataDir, p);
}
