/**
 * Server-side validation of each wizard step. Pure: the input is the form
 * as strings, the output the values to keep and, per field, what is wrong
 * in words a person can act on. Checks that need the machine (free ports,
 * readable certificate files) are in checks.ts.
 */
import { parseServerName, userLocalpartProblem } from '../../../core/identifiers.js';

export type Form = Record<string, string | undefined>;
export type Errors = Record<string, string>;

/** What the wizard has gathered. Passwords are never part of it. */
export interface Draft {
  mode?: 'split' | 'monolith';
  server_name?: string;
  tls?: 'self-signed' | 'files';
  tls_cert?: string;
  tls_key?: string;
  client_port?: number;
  federation_port?: number;
  admin_username?: string;
  registration?: 'closed' | 'token' | 'open';
  token_uses?: number | null;
  token_days?: number | null;
  federation?: boolean;
}

export interface StepResult {
  values: Partial<Draft>;
  errors: Errors;
}

export interface WizardEnv {
  setupPort: number;
}

export const STEPS = ['system', 'server', 'tls', 'accounts'] as const;
export type StepName = (typeof STEPS)[number];

const trim = (v: string | undefined) => (v ?? '').trim();

export function validateSystem(form: Form): StepResult {
  const mode = trim(form.mode);
  if (mode !== 'split' && mode !== 'monolith') return { values: {}, errors: { mode: 'Choose how the server runs: split (one process per part) or monolith (one process).' } };
  return { values: { mode }, errors: {} };
}

export function validateServer(form: Form): StepResult {
  const name = trim(form.server_name).toLowerCase();
  if (name === '') return { values: {}, errors: { server_name: 'Enter a server name, for example example.org or neurite.local.' } };
  if (/^[a-z]+:\/\//.test(name) || name.includes('/')) {
    return { values: {}, errors: { server_name: 'Enter the name only, without http:// or a path: for example example.org.' } };
  }
  if (name.startsWith('@') || name.includes('@')) return { values: {}, errors: { server_name: 'The server name is a domain such as example.org, not a user id.' } };
  if (name.length > 230) return { values: {}, errors: { server_name: 'That name is too long: at most 230 characters.' } };
  const parsed = parseServerName(name);
  if (!parsed.ok) return { values: {}, errors: { server_name: `That is not a valid server name: ${parsed.reason}.` } };
  if (name === 'unconfigured') return { values: {}, errors: { server_name: 'Choose a real name for the server.' } };
  return { values: { server_name: name }, errors: {} };
}

function portField(form: Form, field: string, label: string, errors: Errors): number | undefined {
  const v = trim(form[field]);
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
    errors[field] = `The ${label} must be a number from 1 to 65535.`;
    return undefined;
  }
  return Number(v);
}

export function validateTls(form: Form, env: WizardEnv): StepResult {
  const errors: Errors = {};
  const values: Partial<Draft> = {};
  const tls = trim(form.tls);
  if (tls !== 'self-signed' && tls !== 'files') errors.tls = 'Choose a self-signed certificate or certificate files.';
  else values.tls = tls;
  if (tls === 'files') {
    for (const [field, what] of [['tls_cert', 'certificate'], ['tls_key', 'private key']] as const) {
      const p = trim(form[field]);
      if (p === '') errors[field] = `Enter the path of the ${what} file on this device (PEM), for example /data/certs/${field === 'tls_cert' ? 'fullchain.pem' : 'privkey.pem'}.`;
      else if (!p.startsWith('/')) errors[field] = `The ${what} path must start with / (a path on this device).`;
      else values[field] = p;
    }
  }
  const client = portField(form, 'client_port', 'client port', errors);
  const federation = portField(form, 'federation_port', 'federation port', errors);
  if (client !== undefined && client === env.setupPort) errors.client_port = `Port ${client} is the setup page's own port; choose another one.`;
  if (federation !== undefined && federation === env.setupPort) errors.federation_port = `Port ${federation} is the setup page's own port; choose another one.`;
  if (client !== undefined && client === federation) errors.federation_port = 'The federation port must differ from the client port.';
  if (client !== undefined && !errors.client_port) values.client_port = client;
  if (federation !== undefined && !errors.federation_port) values.federation_port = federation;
  return { values, errors };
}

export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 512;

export interface AccountsResult extends StepResult {
  /** Kept in memory only, until the server has created the account. */
  password?: string;
}

/** `passwordKnown`: a password from an earlier visit is still in memory, so the fields may stay empty. */
export function validateAccounts(form: Form, passwordKnown: boolean): AccountsResult {
  const errors: Errors = {};
  const values: Partial<Draft> = {};
  const username = trim(form.admin_username).replace(/^@/, '').toLowerCase();
  if (username === '') errors.admin_username = 'Choose a user name for the administrator, for example admin or your first name.';
  else if (username.length > 64) errors.admin_username = 'A user name is at most 64 characters.';
  else if (/^[0-9]+$/.test(username)) errors.admin_username = 'A user name of digits only is reserved; add a letter.';
  else {
    const problem = userLocalpartProblem(username, 'strict');
    if (problem) errors.admin_username = 'Use only lower-case letters, digits and . _ = - / + in a user name.';
    else values.admin_username = username;
  }

  const password = form.admin_password ?? '';
  const again = form.admin_password2 ?? '';
  let keep: string | undefined;
  if (password === '' && again === '' && passwordKnown) {
    // Unchanged: the one entered before is still held.
  } else if (password.length < MIN_PASSWORD) errors.admin_password = `The password must be at least ${MIN_PASSWORD} characters long.`;
  else if (password.length > MAX_PASSWORD) errors.admin_password = `The password must be at most ${MAX_PASSWORD} characters long.`;
  else if (password !== again) errors.admin_password2 = 'The two passwords are not the same.';
  else if (username !== '' && password.toLowerCase().includes(username)) errors.admin_password = 'The password must not contain the user name.';
  else keep = password;

  const registration = trim(form.registration);
  if (registration !== 'closed' && registration !== 'token' && registration !== 'open') errors.registration = 'Choose who may create accounts: nobody, people with a token, or anyone.';
  else values.registration = registration;
  if (registration === 'open' && form.open_ack !== 'yes') {
    errors.open_ack = 'Open registration lets anyone who can reach the server create accounts (and spammers look for such servers). Tick the box to confirm, or choose tokens.';
  }
  if (registration === 'token') {
    const uses = trim(form.token_uses);
    if (uses === '') values.token_uses = null;
    else if (!/^\d+$/.test(uses) || Number(uses) < 1 || Number(uses) > 1000) errors.token_uses = 'Uses must be a number from 1 to 1000, or empty for no limit.';
    else values.token_uses = Number(uses);
    const days = trim(form.token_days);
    if (days === '') values.token_days = null;
    else if (!/^\d+$/.test(days) || Number(days) < 1 || Number(days) > 365) errors.token_days = 'Days must be a number from 1 to 365, or empty for a token that never expires.';
    else values.token_days = Number(days);
  }
  const federation = trim(form.federation);
  if (federation !== 'on' && federation !== 'off') errors.federation = 'Choose whether this server talks to other Matrix servers.';
  else values.federation = federation === 'on';
  return { values, errors, ...(keep !== undefined ? { password: keep } : {}) };
}

/** The first step whose values are missing from the draft, or undefined when the draft is complete. */
export function firstIncomplete(draft: Draft, doneSteps: readonly string[], passwordKnown: boolean): StepName | undefined {
  for (const step of STEPS) {
    if (!doneSteps.includes(step)) return step;
    if (step === 'accounts' && !passwordKnown) return step;
  }
  return undefined;
}
