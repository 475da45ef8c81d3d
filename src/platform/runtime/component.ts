/**
 * What a component receives when it starts, and what it gives back. Every
 * component's `index.ts` exports `start(ctx): Promise<ComponentInstance>`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { SigningKey } from '../../core/ed25519.js';
import type { ComponentName } from '../config/components.js';
import type { DataPaths } from '../config/paths.js';
import type { NeuriteConfig } from '../config/schema.js';
import type { ApiDirectory } from '../ipc/directory.js';
import type { ConsumerOptions, LogConsumer } from '../log/consumer.js';
import type { QuietHook } from '../memory/quiet.js';
import type { LogProducer } from '../log/producer.js';
import type { TopicDescriptor } from '../log/topic.js';
import type { Database, DatabaseOptions } from '../storage/database.js';
import type { RawHandler } from '../http/app.js';

export interface ComponentContext {
  readonly name: ComponentName;
  /** False while the data directory has no configuration: only the gateway and setup run then. */
  readonly configured: boolean;
  readonly config: NeuriteConfig;
  readonly paths: DataPaths;
  readonly logger: Logger;
  /** Other components' internal APIs, and where this one provides its own. */
  readonly apis: ApiDirectory;
  /** The server's signing key, read once per process. */
  signingKey(): SigningKey;
  /** Opens this component's own database; closed when the component stops. */
  openDatabase(opts?: DatabaseOptions): Promise<Database>;
  /** Serves this component's topics from its database; other components read them through it. */
  openProducer(db: Database, topics: TopicDescriptor<unknown>[]): Promise<LogProducer>;
  /** Starts reading another component's topic; stopped before this component's databases close. */
  startConsumer<R>(opts: Omit<ConsumerOptions<R>, 'reader' | 'logger'>): Promise<LogConsumer<R>>;
  /** Runs when the component stops, in reverse order of registration. */
  onStop(fn: () => Promise<void> | void): void;
  /** Runs whenever the process goes quiet after work: let go of what is kept only for speed (platform/memory/quiet.ts). */
  onQuiet(fn: QuietHook): void;
  /** For the gateway: where a component's public routes are served. */
  routeTo(component: ComponentName): Upstream;
}

export type Upstream = { kind: 'local'; handle: RawHandler } | { kind: 'socket'; socketPath: string } | { kind: 'none' };

export interface ComponentInstance {
  /** Public HTTP routes, mounted on the process's public app. */
  routes?: FastifyPluginAsync;
  /** Answers whether the component is healthy (reported by `neurite status`). */
  health?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
}

export interface ComponentModule {
  start(ctx: ComponentContext): Promise<ComponentInstance>;
}

export type ComponentLoader = (name: ComponentName) => Promise<ComponentModule>;
