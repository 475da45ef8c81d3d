export { COMPONENTS, isComponentName, type ComponentName } from './components.js';
export { ConfigError, validateConfig, type NeuriteConfig, type ProcessArrangement, type RegistrationMode, type TlsMode } from './schema.js';
export { dataPaths, processSocketPath, resolveDataPath, type DataPaths } from './paths.js';
export { processLayout, processOf, SETUP_ONLY_LAYOUT, type ProcessGroup } from './layout.js';
export { loadConfig } from './load.js';
export { readSigningKey, parseSigningKey, formatSigningKey } from './signing-key.js';
