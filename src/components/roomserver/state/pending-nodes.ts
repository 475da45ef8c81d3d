/**
 * State-tree nodes read from the roomserver's database, and nodes queued for
 * writing but not on disk yet (the tree's cache may drop them before then).
 */
import type { Database } from '../../../platform/storage/database.js';
import { keys } from '../storage.js';
import type { StateNode, StateNodeStore } from './state-tree.js';

export class PendingNodeStore implements StateNodeStore {
  private readonly pending = new Map<string, StateNode>();

  constructor(private readonly db: Database) {}

  async get(id: string): Promise<StateNode | undefined> {
    return this.pending.get(id) ?? (await this.db.get<StateNode>(keys.stateNode(id)));
  }

  async getMany(ids: readonly string[]): Promise<(StateNode | undefined)[]> {
    const out = ids.map((id) => this.pending.get(id));
    const missing = ids.map((_, i) => i).filter((i) => out[i] === undefined);
    if (missing.length > 0) {
      const loaded = await this.db.getMany<StateNode>(missing.map((i) => keys.stateNode(ids[i]!)));
      missing.forEach((i, j) => (out[i] = loaded[j]));
    }
    return out;
  }

  stage(nodes: readonly (readonly [string, StateNode])[]): void {
    for (const [id, node] of nodes) this.pending.set(id, node);
  }

  settle(ids: readonly string[]): void {
    for (const id of ids) this.pending.delete(id);
  }
}
