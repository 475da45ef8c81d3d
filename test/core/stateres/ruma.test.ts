// The 13 ruma-state-res fixtures in every mode manifest.json names:
// "batches" (one PDU at a time along prev_events, file by file, all at once)
// and "state_maps" (given state sets, with and without precomputed auth chains).
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { PDU } from '../../../src/core/events/pdu.js';
import { roomVersion, type RoomVersion } from '../../../src/core/room-versions.js';
import { EventGraph, resolveState, splitStateKey, stateKey, type StateMap } from '../../../src/core/stateres/index.js';

interface Expected {
  type: string;
  state_key: string;
  event_id: string;
  content: unknown;
}
interface FixtureTest {
  name: string;
  mode: 'batches' | 'state_maps';
  room_version: string;
  pdu_files: string[];
  state_map_files?: string[];
  expected_resolved_state: Expected[];
}

const base = new URL('../../vectors/ruma-state-res/', import.meta.url);
const load = <T>(file: string): T => JSON.parse(readFileSync(new URL(file, base), 'utf8')) as T;
const manifest = load<{ modes: Record<string, string>; tests: FixtureTest[] }>('manifest.json');

type Pdu = PDU & { event_id: string; state_key: string };
const keyOf = (pdu: Pdu) => stateKey(pdu.type, pdu.state_key);
const single = (pdu: Pdu): StateMap => new Map([[keyOf(pdu), pdu.event_id]]);

function asList(state: ReadonlyMap<string, string>, byId: ReadonlyMap<string, Pdu>): Expected[] {
  return [...state]
    .map(([key, id]) => ({ ...splitStateKey(key), id }))
    .map(({ type, stateKey: sk, id }) => ({ type, state_key: sk, event_id: id, content: byId.get(id)?.content }))
    .sort((a, b) => (a.type === b.type ? (a.state_key < b.state_key ? -1 : 1) : a.type < b.type ? -1 : 1));
}

/** Each PDU's state after it: resolve the states after its prev_events, add it, and let resolution auth-check it. */
function resolveAlongPrevEvents(version: RoomVersion, pdus: Pdu[], byId: ReadonlyMap<string, Pdu>): Map<string, string> {
  const getEvent = (id: string) => byId.get(id);
  const after = new Map<string, Map<string, string>>();
  const hasChild = new Set<string>();
  const pending = [...pdus];
  while (pending.length > 0) {
    const index = pending.findIndex((p) => (p.prev_events as string[]).every((prev) => after.has(prev)));
    if (index < 0) throw new Error('a prev_event is missing from the fixtures');
    const pdu = pending.splice(index, 1)[0]!;
    const prevStates = (pdu.prev_events as string[]).map((prev) => after.get(prev)!);
    for (const prev of pdu.prev_events as string[]) hasChild.add(prev);
    const before = resolveState(version, prevStates, { getEvent });
    const proposed = new Map(before).set(keyOf(pdu), pdu.event_id);
    after.set(pdu.event_id, resolveState(version, [before, proposed], { getEvent }));
  }
  const leaves = pdus.filter((p) => !hasChild.has(p.event_id)).map((p) => after.get(p.event_id)!);
  return resolveState(version, leaves, { getEvent });
}

/** Every PDU of a file as its own state set, resolved with the state resolved so far. */
function resolveFileByFile(version: RoomVersion, files: Pdu[][]): Map<string, string> {
  const known = new Map<string, Pdu>();
  let state: Map<string, string> | undefined;
  for (const file of files) {
    for (const pdu of file) known.set(pdu.event_id, pdu);
    const sets: StateMap[] = state ? [state, ...file.map(single)] : file.map(single);
    state = resolveState(version, sets, { getEvent: (id) => known.get(id) });
  }
  return state!;
}

t.equal(manifest.tests.length, 13, 'all 13 fixtures are listed');
t.same(Object.keys(manifest.modes).sort(), ['batches', 'state_maps'], 'the manifest names two modes');

for (const fixture of manifest.tests) {
  t.test(`${fixture.name} (${fixture.mode}, room v${fixture.room_version})`, async (t) => {
    const version = roomVersion(fixture.room_version)!;
    const files = fixture.pdu_files.map((f) => load<Pdu[]>(f));
    const all = files.flat();
    const byId = new Map(all.map((p) => [p.event_id, p]));
    const getEvent = (id: string) => byId.get(id);
    const expected = fixture.expected_resolved_state;

    if (fixture.mode === 'batches') {
      t.same(asList(resolveAlongPrevEvents(version, all, byId), byId), expected, 'one PDU at a time along prev_events');
      t.same(asList(resolveFileByFile(version, files), byId), expected, 'file by file');
      t.same(asList(resolveState(version, all.map(single), { getEvent }), byId), expected, 'all at once');
      return;
    }

    const stateSets: StateMap[] = fixture.state_map_files!.map((f) => {
      const ids = load<string[]>(f);
      return new Map(ids.map((id) => [keyOf(byId.get(id)!), id]));
    });
    t.same(asList(resolveState(version, stateSets, { getEvent }), byId), expected, 'auth chains computed by the resolver');

    const graph = new EventGraph(getEvent);
    const authChainSets = stateSets.map((s) => graph.authChain(s.values()));
    t.same(asList(resolveState(version, stateSets, { getEvent, authChainSets }), byId), expected, 'precomputed auth chains');
  });
}
