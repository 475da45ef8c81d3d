/**
 * Changes a few settings of an existing `<data-dir>/neurite.yaml` (the
 * dashboard's switches), keeping everything else and its comments. The new
 * file is validated before it replaces the old one, atomically.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { dataPaths } from './paths.js';
import { validateConfig, type NeuriteConfig } from './schema.js';

export interface ConfigChanges {
  registration?: NeuriteConfig['registration'];
  federation_enabled?: boolean;
}

export function updateConfig(dataDir: string, changes: ConfigChanges): NeuriteConfig {
  const file = dataPaths(dataDir).configFile;
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (changes.registration !== undefined) doc.set('registration', changes.registration);
  if (changes.federation_enabled !== undefined) doc.setIn(['federation', 'enabled'], changes.federation_enabled);
  const config = validateConfig(doc.toJS());
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, doc.toString());
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return config;
}
