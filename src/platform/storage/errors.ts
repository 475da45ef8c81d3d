/** Storage failures that must stop a component rather than be papered over. */

export class DatabaseLockedError extends Error {
  constructor(readonly path: string) {
    super(`database ${path} is locked by another process (is Neurite already running on this data directory?)`);
    this.name = 'DatabaseLockedError';
  }
}

export class DatabaseCorruptError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`database ${path} is corrupt (${detail}); it was left untouched: restore it from a backup or remove it knowingly`);
    this.name = 'DatabaseCorruptError';
  }
}

export class DatabaseClosedError extends Error {
  constructor(readonly path: string) {
    super(`database ${path} is closed`);
    this.name = 'DatabaseClosedError';
  }
}

export class DatabaseWriteFailedError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`a write to database ${path} failed (${cause instanceof Error ? cause.message : String(cause)}); it accepts no more writes until reopened`, { cause });
    this.name = 'DatabaseWriteFailedError';
  }
}
