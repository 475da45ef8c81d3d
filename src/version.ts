import pkg from '../package.json' with { type: 'json' };

/** The running Neurite version, as released. */
export const NEURITE_VERSION: string = pkg.version;
