/**
 * Initialising a data directory: configuration, signing key, TLS material.
 * Used by `neurite init` and by the setup wizard, so both write the same thing.
 *
 * Nothing is left half-written: every file is first written into a staging
 * directory inside the data directory, and `neurite.yaml` is renamed into
 * place last, so a data directory is either initialised or untouched.
 */
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { generateSigningKey } from '../../core/ed25519.js';
import { parseServerName } from '../../core/identifiers.js';
import { createSelfSignedCertificate } from '../tls/self-signed.js';
import { dataPaths } from './paths.js';
import { ConfigError, validateConfig, type NeuriteConfig, type RegistrationMode, type TlsMode } from './schema.js';
import { formatSigningKey } from './signing-key.js';

export interface InitOptions {
  dataDir: string;
  serverName: string;
  bind?: string;
  clientPort?: number;
  federationPort?: number;
  setupPort?: number;
  registration?: RegistrationMode;
  registrationSharedSecret?: string;
  tls?: TlsMode;
  tlsCert?: string;
  tlsKey?: string;
  federationVerifyTls?: boolean;
  /** Talk to other Matrix servers (default on); the setup wizard offers to switch it off. */
  federation?: boolean;
  rateLimits?: boolean;
  guestAccess?: boolean;
  appservices?: string[];
  mode?: 'split' | 'monolith';
}

/** Split where memory allows (Pi 4 and 5); a Pi 3's 1 GB runs everything in one process. */
export function defaultArrangement(): 'split' | 'monolith' {
  return totalmem() >= 1.5 * 1024 ** 3 ? 'split' : 'monolith';
}

function writePrivate(path: string, data: string): void {
  writeFileSync(path, data, { mode: 0o600 });
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function checkTlsFiles(cert: string, key: string): void {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(readFileSync(cert));
  } catch (e) {
    throw new ConfigError(`--tls-cert ${cert}: not a readable PEM certificate (${(e as Error).message})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(readFileSync(key));
  } catch (e) {
    throw new ConfigError(`--tls-key ${key}: not a readable PEM private key (${(e as Error).message})`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new ConfigError(`--tls-key ${key} does not belong to the certificate ${cert}`);
}

function hostOf(serverName: string): string {
  const parsed = parseServerName(serverName);
  if (!parsed.ok) throw new ConfigError(`server name ${JSON.stringify(serverName)} is not valid: ${parsed.reason}`);
  return parsed.value.host.replace(/^\[|\]$/g, '');
}

export function initDataDir(opts: InitOptions): NeuriteConfig {
  const paths = dataPaths(opts.dataDir);
  const host = hostOf(opts.serverName);
  const tlsMode = opts.tls ?? 'self-signed';
  if (tlsMode === 'files') {
    if (!opts.tlsCert || !opts.tlsKey) throw new ConfigError('--tls files needs --tls-cert FILE and --tls-key FILE');
    checkTlsFiles(opts.tlsCert, opts.tlsKey);
  } else if (opts.tlsCert || opts.tlsKey) {
    throw new ConfigError('--tls-cert and --tls-key go with --tls files');
  }
  for (const file of opts.appservices ?? []) {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new ConfigError(`--appservice ${file}: cannot read the file`);
    }
  }
  if (opts.registrationSharedSecret !== undefined && opts.registrationSharedSecret.length < 16) {
    throw new ConfigError('--registration-shared-secret must be at least 16 characters');
  }

  if (existsSync(paths.configFile)) throw new ConfigError(`${paths.dataDir} is already initialised (${paths.configFile} exists)`);
  if (existsSync(paths.keysDir)) throw new ConfigError(`${paths.dataDir} holds keys/ but no neurite.yaml: move it away or use another data directory`);
  const created = !existsSync(paths.dataDir);
  if (!created) {
    if (!statSync(paths.dataDir).isDirectory()) throw new ConfigError(`${paths.dataDir} is not a directory`);
    try {
      accessSync(paths.dataDir, constants.W_OK);
    } catch {
      throw new ConfigError(`${paths.dataDir} is not writable`);
    }
  }

  const config: NeuriteConfig = validateConfig({
    server_name: opts.serverName,
    bind: opts.bind ?? '0.0.0.0',
    client_port: opts.clientPort ?? 8008,
    federation_port: opts.federationPort ?? 8448,
    setup_port: opts.setupPort ?? 8080,
    tls:
      tlsMode === 'files'
        ? { mode: 'files', cert: resolve(opts.tlsCert!), key: resolve(opts.tlsKey!) }
        : { mode: tlsMode, cert: 'keys/tls.crt', key: 'keys/tls.key' },
    signing_key: 'keys/signing.key',
    registration: opts.registration ?? 'closed',
    registration_shared_secret_file: opts.registrationSharedSecret ? 'keys/registration_shared_secret' : '',
    guest_access: opts.guestAccess ?? false,
    rate_limits: opts.rateLimits ?? true,
    federation: { enabled: opts.federation ?? true, verify_tls: opts.federationVerifyTls ?? true },
    appservices: (opts.appservices ?? []).map((f) => resolve(f)),
    processes: opts.mode ?? defaultArrangement(),
    durability: 'sync',
    presence: true,
  });

  let staging: string | undefined;
  try {
    try {
      mkdirSync(paths.dataDir, { recursive: true });
    } catch (e) {
      throw new ConfigError(`cannot create ${paths.dataDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    staging = join(paths.dataDir, `.init-${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(join(staging, 'keys'), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new ConfigError(`cannot write in ${paths.dataDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const keyVersion = 'a_' + randomBytes(3).toString('base64url');
    writePrivate(join(staging, 'keys', 'signing.key'), formatSigningKey(generateSigningKey(`ed25519:${keyVersion}`)));
    if (tlsMode === 'self-signed') {
      const names = [...new Set([host, 'localhost', 'neurite.local'])];
      const { certPem, keyPem } = createSelfSignedCertificate(names);
      writeFileSync(join(staging, 'keys', 'tls.crt'), certPem, { mode: 0o644 });
      writePrivate(join(staging, 'keys', 'tls.key'), keyPem);
    }
    if (opts.registrationSharedSecret) writePrivate(join(staging, 'keys', 'registration_shared_secret'), opts.registrationSharedSecret);
    const header = '# Neurite configuration, written by `neurite init`. Paths are relative to this directory.\n';
    writeFileSync(join(staging, 'neurite.yaml'), header + stringify(config), { mode: 0o644 });
    for (const f of ['keys/signing.key', 'neurite.yaml', 'keys']) fsyncPath(join(staging, f));

    renameSync(join(staging, 'keys'), paths.keysDir);
    renameSync(join(staging, 'neurite.yaml'), paths.configFile);
    fsyncPath(paths.dataDir);
    rmSync(staging, { recursive: true, force: true });
    return config;
  } catch (e) {
    if (staging) rmSync(staging, { recursive: true, force: true });
    if (!existsSync(paths.configFile)) rmSync(paths.keysDir, { recursive: true, force: true });
    if (created) rmSync(paths.dataDir, { recursive: true, force: true });
    throw e;
  }
}
