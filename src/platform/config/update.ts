/**
 * Changes a few settings of an existing `<data-dir>/neurite.yaml` (the
 * dashboard's switches), keeping everything else and its comments. The new
 * file is validated before it replaces the old one, atomically.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { writeFileAtomic } from '../storage/atomic-file.js';
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
  writeFileAtomic(file, doc.toString());
  return config;
}
