import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { dataPaths } from './paths.js';
import { ConfigError, validateConfig, type NeuriteConfig } from './schema.js';

/** Reads and checks `<data-dir>/neurite.yaml`; undefined when the data directory is not configured yet. */
export function loadConfig(dataDir: string): NeuriteConfig | undefined {
  const file = dataPaths(dataDir).configFile;
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return validateConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}
