/**
 * Runs tasks with the same key one after another, tasks of different keys
 * concurrently: what a read-compare-write of one thing needs (one room's
 * next event, one user's keys, one receipt). A task runs once the one
 * before it with its key has finished, successfully or not.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    // The last task of a key removes it: the map holds only busy keys.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
