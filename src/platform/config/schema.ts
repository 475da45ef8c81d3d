/**
 * The shape of `<data-dir>/neurite.yaml` and its validation. Paths in the
 * file are relative to the data directory. Secrets are not in this file:
 * they live in `<data-dir>/keys/` (mode 0600) and the file names them.
 */
import { isComponentName, COMPONENTS, type ComponentName } from './components.js';
import { mediaConfig, type MediaConfig } from './media.js';

export type RegistrationMode = 'open' | 'token' | 'closed';
export type TlsMode = 'self-signed' | 'off' | 'files';
export type ProcessArrangement = 'split' | 'monolith' | Record<string, ComponentName[]>;

export interface NeuriteConfig {
  server_name: string;
  bind: string;
  client_port: number;
  federation_port: number;
  setup_port: number;
  tls: { mode: TlsMode; cert: string; key: string };
  signing_key: string;
  registration: RegistrationMode;
  /** File holding the shared secret for /_synapse/admin/v1/register; empty when disabled. */
  registration_shared_secret_file: string;
  guest_access: boolean;
  rate_limits: boolean;
  federation: { enabled: boolean; verify_tls: boolean };
  appservices: string[];
  processes: ProcessArrangement;
  durability: 'sync' | 'relaxed';
  presence: boolean;
  /** The client API's public base URL for /.well-known/matrix/client; empty: derived from the server name and federation port. */
  public_baseurl: string;
  /** TURN servers handed to clients for calls (GET /voip/turnServer); no uris means none. */
  turn: TurnConfig;
  /** Uploads, quotas, retention, URL previews (media.ts). */
  media: MediaConfig;
}

export interface TurnConfig {
  uris: string[];
  /** File holding the TURN REST API shared secret (time-limited credentials); empty when fixed ones are used. */
  shared_secret_file: string;
  username: string;
  password: string;
  /** How long time-limited credentials last. */
  lifetime_seconds: number;
  allow_guests: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Raw = Record<string, unknown>;

function fail(field: string, what: string): never {
  throw new ConfigError(`${field} ${what}`);
}

// `field` may be a dotted path for messages; the last segment is the key.
const keyOf = (field: string) => field.slice(field.lastIndexOf('.') + 1);

function str(o: Raw, field: string, dflt?: string): string {
  const v = o[keyOf(field)];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string') fail(field, 'must be a string');
  return v;
}

function bool(o: Raw, field: string, dflt: boolean): boolean {
  const v = o[keyOf(field)];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') fail(field, 'must be true or false');
  return v;
}

function port(o: Raw, field: string, dflt: number): number {
  const v = o[keyOf(field)] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) fail(field, 'must be a port number 0–65535');
  return v;
}

function oneOf<T extends string>(o: Raw, field: string, allowed: readonly T[], dflt: T): T {
  const v = o[keyOf(field)] ?? dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(field, `must be one of ${allowed.join(', ')}`);
  return v as T;
}

function obj(o: Raw, field: string): Raw {
  const v = o[field];
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'must be a mapping');
  return v as Raw;
}

export function validateProcesses(v: unknown): ProcessArrangement {
  if (v === undefined) return 'split';
  if (v === 'split' || v === 'monolith') return v;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('processes', 'must be split, monolith or a map of process name to components');
  const seen = new Set<string>();
  const out: Record<string, ComponentName[]> = {};
  for (const [name, comps] of Object.entries(v as Raw)) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) fail(`processes.${name}`, 'is not a valid process name (a-z, 0-9, -)');
    if (!Array.isArray(comps) || comps.length === 0) fail(`processes.${name}`, 'must be a non-empty list of components');
    for (const c of comps) {
      if (typeof c !== 'string' || !isComponentName(c)) fail(`processes.${name}`, `names an unknown component ${JSON.stringify(c)}`);
      if (seen.has(c)) fail(`processes.${name}`, `lists ${c}, which another process already runs`);
      seen.add(c);
    }
    out[name] = comps as ComponentName[];
  }
  const missing = COMPONENTS.filter((c) => !seen.has(c));
  if (missing.length > 0) fail('processes', `leaves out ${missing.join(', ')}: every component must run in some process`);
  return out;
}

function turnConfig(t: Raw): TurnConfig {
  const uris = t.uris ?? [];
  if (!Array.isArray(uris) || uris.some((u) => typeof u !== 'string' || !/^turns?:/.test(u))) fail('turn.uris', 'must be a list of turn: or turns: URIs');
  const lifetime = t.lifetime_seconds ?? 86400;
  if (typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime < 1) fail('turn.lifetime_seconds', 'must be a positive integer');
  return {
    uris: uris as string[],
    shared_secret_file: str(t, 'turn.shared_secret_file', ''),
    username: str(t, 'turn.username', ''),
    password: str(t, 'turn.password', ''),
    lifetime_seconds: lifetime,
    allow_guests: bool(t, 'turn.allow_guests', true),
  };
}

export function validateConfig(raw: unknown): NeuriteConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('the file must hold a mapping');
  const o = raw as Raw;
  const tls = obj(o, 'tls');
  const federation = obj(o, 'federation');
  const appservices = o.appservices ?? [];
  if (!Array.isArray(appservices) || appservices.some((a) => typeof a !== 'string')) fail('appservices', 'must be a list of file names');
  const cfg: NeuriteConfig = {
    server_name: str(o, 'server_name'),
    bind: str(o, 'bind', '0.0.0.0'),
    client_port: port(o, 'client_port', 8008),
    federation_port: port(o, 'federation_port', 8448),
    setup_port: port(o, 'setup_port', 8080),
    tls: {
      mode: oneOf(tls, 'tls.mode', ['self-signed', 'off', 'files'] as const, 'self-signed'),
      cert: str(tls, 'tls.cert', 'keys/tls.crt'),
      key: str(tls, 'tls.key', 'keys/tls.key'),
    },
    signing_key: str(o, 'signing_key', 'keys/signing.key'),
    registration: oneOf(o, 'registration', ['open', 'token', 'closed'] as const, 'closed'),
    registration_shared_secret_file: str(o, 'registration_shared_secret_file', ''),
    guest_access: bool(o, 'guest_access', false),
    rate_limits: bool(o, 'rate_limits', true),
    federation: { enabled: bool(federation, 'federation.enabled', true), verify_tls: bool(federation, 'federation.verify_tls', true) },
    appservices: appservices as string[],
    processes: validateProcesses(o.processes),
    durability: oneOf(o, 'durability', ['sync', 'relaxed'] as const, 'sync'),
    presence: bool(o, 'presence', true),
    public_baseurl: str(o, 'public_baseurl', ''),
    turn: turnConfig(obj(o, 'turn')),
    media: mediaConfig(obj(o, 'media'), fail),
  };
  if (cfg.server_name === '') fail('server_name', 'must not be empty');
  if (cfg.public_baseurl !== '' && !/^https?:\/\/[^/\s]+\/?$/.test(cfg.public_baseurl)) fail('public_baseurl', 'must be an http(s) URL without a path');
  return cfg;
}
