/** Command-line parsing with one-line errors that name the problem. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(args: string[], options: O, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) throw new UsageError(`unknown option ${unknown[1]}`);
    // "argument missing" at the end of the line; "ambiguous" when the next word is another option.
    const missing = /Option '(-[^' ]+)[^']*' argument (missing|is ambiguous)/.exec(msg);
    if (missing) throw new UsageError(`option ${missing[1]} needs a value`);
    const unexpected = /Unexpected argument '([^']+)'/.exec(msg);
    if (unexpected) throw new UsageError(`unexpected argument ${unexpected[1]}`);
    throw new UsageError(msg.split('\n')[0]!);
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument ${parsed.positionals[positionals]}`);
  // A value that looks like an option almost always means the real value was forgotten.
  for (const [name, value] of Object.entries(parsed.values)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v === 'string' && v.startsWith('--')) throw new UsageError(`option --${name} needs a value (got ${v})`);
    }
  }
  return parsed;
}

export function requireString(value: unknown, option: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`missing ${option}`);
  return value;
}

export function portOption(value: unknown, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < 1 || n > 65535) throw new UsageError(`${option} must be a port number 1–65535, not ${String(value)}`);
  return n;
}

export function choiceOption<T extends string>(value: unknown, option: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${option} must be one of ${choices.join(', ')}, not ${String(value)}`);
  }
  return value as T;
}

export function onOffOption(value: unknown, option: string): boolean | undefined {
  const v = choiceOption(value, option, ['on', 'off'] as const);
  return v === undefined ? undefined : v === 'on';
}
