/**
 * Runs metadata changes one at a time. A blob's reference count, a user's
 * usage and the thumbnails of a file are read, changed and written back;
 * uploads and deletions of the same content must not interleave, or a file
 * could be removed while a new reference to it is being written. The work
 * inside is short (a rename and one batch); streaming happens outside.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
