/** Which components run in which process, from the `processes:` setting. */
import { COMPONENTS, type ComponentName } from './components.js';
import type { ProcessArrangement } from './schema.js';

export interface ProcessGroup {
  name: string;
  components: ComponentName[];
}

/**
 * Split runs the scheduled jobs beside the dashboard: both are the
 * appliance's own housekeeping, and a fifteenth Node process would cost
 * about 14 MB of idle memory for a component that wakes a few times an hour.
 */
const SPLIT_COMPANIONS: Partial<Record<ComponentName, ComponentName>> = { maintenance: 'setup' };

export function processLayout(arrangement: ProcessArrangement): ProcessGroup[] {
  if (arrangement === 'split') {
    return COMPONENTS.filter((c) => !SPLIT_COMPANIONS[c]).map((c) => ({
      name: c,
      components: [c, ...COMPONENTS.filter((other) => SPLIT_COMPANIONS[other] === c)],
    }));
  }
  if (arrangement === 'monolith') return [{ name: 'neurite', components: [...COMPONENTS] }];
  return Object.entries(arrangement).map(([name, components]) => ({ name, components: [...components] }));
}

/** Before a data directory is configured only the gateway and the setup wizard run. */
export const SETUP_ONLY_LAYOUT: ProcessGroup[] = [{ name: 'neurite', components: ['gateway', 'setup'] }];

export function processOf(layout: ProcessGroup[], component: ComponentName): ProcessGroup | undefined {
  return layout.find((g) => g.components.includes(component));
}
