/**
 * The sync stream position: the watermark never passes a position that is
 * allocated but not committed (consumers commit out of order), the counter
 * resumes above everything persisted, jumps past a gap after an unclean
 * stop, and the notifier loses no wake-up between computing an answer and
 * starting to wait.
 */
import t from 'tap';
import { join } from 'node:path';
import { Database } from '../../../src/platform/storage/database.js';
import { Notifier } from '../../../src/components/syncapi/notifier.js';
import { StreamPositions } from '../../../src/components/syncapi/positions.js';
import { tempDir } from '../../helpers/server.js';

async function open(dir: string): Promise<Database> {
  return Database.open(join(dir, 'db'));
}

t.test('the watermark waits for every lower position', async (t) => {
  const db = await open(tempDir());
  t.teardown(() => db.close());
  const s = await StreamPositions.open(db);
  const moves: [number, number][] = [];
  s.onAdvance = (from, to) => moves.push([from, to]);
  const a = s.alloc();
  const b = s.alloc();
  const c = s.alloc();
  t.same([a, b, c], [1, 2, 3]);
  s.settle([c]);
  t.equal(s.current, 0, '3 committed, 1 and 2 not: nothing readable');
  s.settle([b]);
  t.equal(s.current, 0, 'still waiting for 1');
  s.settle([a]);
  t.equal(s.current, 3, 'all three at once');
  t.same(moves, [[0, 3]]);
  s.settle([a]);
  t.equal(s.current, 3, 'settling twice changes nothing');
  const d = s.alloc();
  s.settle([d]);
  t.equal(s.current, 4);
});

t.test('the counter resumes above what every consumer persisted; a gap after an unclean stop', async (t) => {
  const dir = tempDir();
  let db = await open(dir);
  let s = await StreamPositions.open(db);
  s.alloc();
  s.alloc();
  await db.write([s.persistOp('a')]);
  s.alloc();
  await db.write([s.persistOp('b')]);
  // Consumer a commits late with an older view: its own key, so nothing goes backwards.
  await db.close();
  db = await open(dir);
  s = await StreamPositions.open(db);
  t.ok(s.current >= 3, `unclean stop: at least past everything persisted (${s.current})`);
  t.ok(s.current >= 100_000, 'and past a gap, so no position a client may have seen is reused');
  const first = s.current;
  await StreamPositions.closeClean(db);
  await db.close();
  db = await open(dir);
  s = await StreamPositions.open(db);
  t.equal(s.current, first, 'after a clean stop: exactly where it was');
  await db.close();
  db = await open(dir);
  s = await StreamPositions.open(db);
  t.ok(s.current >= first + 100_000, 'the floor written at an unclean start is durable: the next gap starts above it');
  await db.close();
});

t.test('notifier: a wake between computing and waiting is not lost', async (t) => {
  const n = new Notifier();
  n.add(5, ['@a:x']);
  n.advance(4, 5);
  // A sync that computed its answer at 4 starts waiting only now.
  t.equal(await n.wait('@a:x', 4, 60_000), true, 'returns at once: something came after 4');
  t.equal(await n.wait('@b:x', 4, 1), false, 'another user: times out');
  const waiting = n.wait('@a:x', 5, 60_000);
  n.add(6, ['@a:x', '@c:x']);
  n.advance(5, 6);
  t.equal(await waiting, true, 'woken');
  const ac = new AbortController();
  const aborted = n.wait('@a:x', 6, 60_000, ac.signal);
  ac.abort();
  t.equal(await aborted, false, 'a client that hangs up stops waiting');
  const stopping = n.wait('@a:x', 6, 60_000);
  n.stop();
  t.equal(await stopping, true, 'stopping answers every wait');
  t.equal(n.waiting, 0);
});
