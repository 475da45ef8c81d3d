/**
 * A map bounded by entry count that keeps what was used recently; a bound
 * of 0 keeps nothing.
 *
 * Two generations, not an exact LRU: new and used entries go to the young
 * Map; once it holds half the bound (rounded up) it becomes the old one and the previous
 * old one is dropped, so an entry survives while it is used at least once
 * per half-bound of insertions. A hit in the young generation is one Map
 * lookup. An exact LRU moved every hit to the end of one Map (delete, then
 * set), and the deleted slots made V8 rebuild the whole table again and
 * again: with 16 384 entries, 10–15 µs per message sent in the roomserver.
 */
export class LruCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  constructor(private readonly max: number) {
    // The old generation holds at most `half`, the young one fewer: never more than `max` in all.
    this.half = Math.max(1, Math.ceil(max / 2));
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.keep(key, o);
    }
    return o;
  }

  set(key: K, value: V): void {
    if (this.max <= 0) return;
    this.old.delete(key);
    this.keep(key, value);
  }

  delete(key: K): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  private keep(key: K, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}
