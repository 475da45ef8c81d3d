/**
 * LruCache: the count-bounded cache of the roomserver's events, event ids
 * and state-tree nodes. It is two generations, not an exact LRU; these are
 * the promises its users rely on (seeds printed; set CACHE_TEST_SEED to
 * replay one).
 */
import t from 'tap';
import { LruCache } from '../../../src/components/roomserver/cache.js';
import { rng } from '../../helpers/random.js';

t.test('never holds more than its bound, and answers what it holds correctly', async (t) => {
  for (const max of [1, 2, 3, 10, 64]) {
    const seed = Number(process.env.CACHE_TEST_SEED ?? Math.floor(Math.random() * 2 ** 32));
    const next = rng(seed);
    const cache = new LruCache<number, string>(max);
    const model = new Map<number, string>();
    let over = 0;
    let wrong = 0;
    for (let i = 0; i < 5000; i++) {
      const key = Math.floor(next() * max * 3);
      const r = next();
      if (r < 0.5) {
        cache.set(key, `v${i}`);
        model.set(key, `v${i}`);
      } else if (r < 0.9) {
        const got = cache.get(key);
        // A miss is allowed (evicted); a hit must be the latest value set.
        if (got !== undefined && got !== model.get(key)) wrong++;
      } else {
        cache.delete(key);
        model.delete(key);
      }
      if (cache.size > max) over++;
    }
    t.equal(over, 0, `bound ${max} holds (seed ${seed})`);
    t.equal(wrong, 0, `no stale or deleted value is answered (bound ${max}, seed ${seed})`);
  }
});

t.test('keeps an entry that is used while many others come and go', async (t) => {
  const cache = new LruCache<string, number>(100);
  cache.set('hot', 1);
  cache.set('cold', 2);
  let misses = 0;
  for (let i = 0; i < 10_000; i++) {
    cache.set(`k${i}`, i);
    if (i % 40 === 0 && cache.get('hot') !== 1) misses++;
  }
  t.equal(misses, 0, 'used once every 40 insertions with a bound of 100: always there');
  t.equal(cache.get('cold'), undefined, 'never used again: evicted');
  t.ok(cache.size <= 100 && cache.size >= 50, `holds between half its bound and its bound (${cache.size})`);
  t.equal(cache.get('k9999'), 9999, 'the newest entry is there');
});

t.test('set replaces, delete removes from either generation', async (t) => {
  const cache = new LruCache<string, number>(10);
  for (const [i, k] of ['a', 'b', 'c', 'd', 'e'].entries()) cache.set(k, i);
  // Half the bound reached: a to e are now the old generation.
  cache.set('a', 10);
  t.equal(cache.get('a'), 10, 'a value set again replaces the old one');
  t.equal(cache.get('b'), 1, 'an old entry is found');
  cache.delete('a');
  cache.delete('c');
  t.equal(cache.get('a'), undefined, 'deleted from the young generation');
  t.equal(cache.get('c'), undefined, 'deleted from the old generation');
  t.equal(cache.size, 3, 'b, d and e are left');
});

t.test('a bound of 0 keeps nothing', async (t) => {
  const cache = new LruCache<string, number>(0);
  cache.set('a', 1);
  t.equal(cache.get('a'), undefined);
  t.equal(cache.size, 0);
});

t.test('clear empties both generations', async (t) => {
  const cache = new LruCache<number, string>(10);
  for (let i = 0; i < 8; i++) cache.set(i, `v${i}`);
  t.equal(cache.size, 8);
  cache.clear();
  t.equal(cache.size, 0);
  t.same([0, 4, 7].map((k) => cache.get(k)), [undefined, undefined, undefined], 'nothing is answered from before');
  cache.set(1, 'again');
  t.equal(cache.get(1), 'again', 'and it fills again');
});
