/** What the setup component's routes share. */
import type { ComponentContext } from '../../platform/runtime/component.js';
import type { Client } from '../../platform/ipc/directory.js';
import type { UserAPI } from '../userapi/api.js';
import type { MaintenanceAPI } from '../maintenance/api.js';
import type { MediaAPI } from '../mediaapi/api.js';
import type { Finisher } from './finish.js';
import type { SafeHtml } from './html.js';
import type { Sessions } from './sessions.js';
import type { SetupStore } from './store.js';
import type { SupervisorClient } from './supervisor-client.js';
import type { Assets, PageOptions } from './views/layout.js';

export interface SetupDeps {
  ctx: ComponentContext;
  store: SetupStore;
  sessions: Sessions;
  supervisor: SupervisorClient;
  assets: Assets;
  /** The setup code, while the data directory is unconfigured. */
  code?: string;
  /** The administrator's password between the accounts step and apply: in memory only. */
  password?: string;
  /** Configured server: finishes setup and serves the dashboard. */
  finisher?: Finisher;
  users?: Client<UserAPI>;
  maintenance?: Client<MaintenanceAPI>;
  media?: Client<MediaAPI>;
  page(o: Omit<PageOptions, 'assets'>): SafeHtml;
}
