import { join } from 'node:path';
import { Database, type DatabaseOptions } from './database.js';

export { Database, type DatabaseOptions, type Durability, type WriteOp, type WriteOptions, type IterateOptions } from './database.js';
export { encodeKey, decodeKey, prefixRange, encodeNumber, type KeyPart } from './keys.js';
export { DatabaseLockedError, DatabaseCorruptError, DatabaseClosedError, DatabaseWriteFailedError } from './errors.js';

/** Where a component's database lives: the same path in every process arrangement. */
export function componentDatabasePath(dataDir: string, component: string): string {
  return join(dataDir, 'db', component);
}

export function openComponentDatabase(dataDir: string, component: string, opts: DatabaseOptions = {}): Promise<Database> {
  return Database.open(componentDatabasePath(dataDir, component), opts);
}
