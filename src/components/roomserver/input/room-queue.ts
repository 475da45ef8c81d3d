/**
 * One room changes at a time; different rooms change concurrently. Each
 * room has a chain of promises; a task runs when the one before it in the
 * same room has finished (successfully or not).
 */
export class RoomQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(roomId: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(roomId) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.catch(() => {});
    this.tails.set(roomId, tail);
    // Forget idle rooms so the map does not grow with every room ever seen.
    void tail.then(() => {
      if (this.tails.get(roomId) === tail) this.tails.delete(roomId);
    });
    return result;
  }
}
