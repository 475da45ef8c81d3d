/**
 * Values worked out once per key string. Push rules name few distinct keys,
 * patterns and counts, and evaluation runs per rule, recipient and event,
 * so a lookup must build nothing; the bound only guards against odd rule
 * sets (reached, everything is dropped and worked out again).
 */
export function memoized<V>(max: number, make: (key: string) => V): (key: string) => V {
  const values = new Map<string, V>();
  return (key) => {
    const known = values.get(key);
    if (known !== undefined) return known;
    const value = make(key);
    if (values.size >= max) values.clear();
    values.set(key, value);
    return value;
  };
}
