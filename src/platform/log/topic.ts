/**
 * Append-log topics: each belongs to the component that produces it and is
 * stored in that component's database. A component's `topics.ts` defines its
 * topics and their record types.
 */
import type { ComponentName } from '../config/components.js';

export interface TopicDescriptor<R> {
  readonly producer: ComponentName;
  readonly name: string;
  /**
   * A record's kind, for consumers that want only some kinds
   * (`ReadRequest.kinds`): the producer passes over the others instead of
   * sending them. A topic without it is always read whole. (A method, so
   * that a topic of any record type is a TopicDescriptor<unknown>.)
   */
  kindOf?(record: R): string;
  /** Type carrier only; never set. */
  readonly __record?: R;
}

export function defineTopic<R>(producer: ComponentName, name: string, opts: { kindOf?: (record: R) => string } = {}): TopicDescriptor<R> {
  if (!/^[a-z][a-z0-9_.]*$/.test(name)) throw new Error(`topic name ${name} must be lower case`);
  return opts.kindOf ? { producer, name, kindOf: opts.kindOf } : { producer, name };
}

export interface LogRecord<R> {
  offset: number;
  record: R;
}
