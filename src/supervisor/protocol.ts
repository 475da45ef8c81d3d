/** Messages between the supervisor and its children, over the fork IPC channel. */
import type { ProcessGroup } from '../platform/config/layout.js';
import type { NeuriteConfig } from '../platform/config/schema.js';

export type ChildMessage = { type: 'ready' } | { type: 'fatal'; message: string };
export type SupervisorMessage = { type: 'stop' };

/** What a child needs to run its group, passed in its environment so it does not parse YAML again. */
export interface ChildSetup {
  dataDir: string;
  configured: boolean;
  config: NeuriteConfig;
  layout: ProcessGroup[];
  group: string;
}

export const CHILD_ENV = 'NEURITE_CHILD';
export const CHILD_COMMAND = '__child';
