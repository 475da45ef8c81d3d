/**
 * Append-log topics: each belongs to the component that produces it and is
 * stored in that component's database. A component's `topics.ts` defines its
 * topics and their record types.
 */
import type { ComponentName } from '../config/components.js';

export interface TopicDescriptor<R> {
  readonly producer: ComponentName;
  readonly name: string;
  /** Type carrier only; never set. */
  readonly __record?: R;
}

export function defineTopic<R>(producer: ComponentName, name: string): TopicDescriptor<R> {
  if (!/^[a-z][a-z0-9_.]*$/.test(name)) throw new Error(`topic name ${name} must be lower case`);
  return { producer, name };
}

export interface LogRecord<R> {
  offset: number;
  record: R;
}
