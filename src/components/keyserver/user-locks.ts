/**
 * One user's key changes run one after another (every write is a
 * read-compare-write: a duplicate key id, a claim that must give a key out
 * once, a device deleted while its keys are uploaded); different users run
 * concurrently.
 */
export class UserLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(userId: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(userId) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(userId, tail);
    // Only busy users stay in the map.
    void tail.then(() => {
      if (this.tails.get(userId) === tail) this.tails.delete(userId);
    });
    return result;
  }
}
