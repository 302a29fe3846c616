/**
 * One queue per file: work on a file runs after every earlier piece of work on the same file (sessions and group
 * members may append to the same history at once), while different files proceed side by side. A queue is dropped
 * once it is empty, so the map holds only files being worked on.
 */
export class FileQueues {
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Runs `work` after every earlier operation on the same file; a failure of one does not stop the next. */
  run<T>(file: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(file) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.queues.set(file, tail);
    void tail.then(() => {
      if (this.queues.get(file) === tail) this.queues.delete(file);
    });
    return next;
  }

  /** Resolves when every piece of work started so far (and any started meanwhile) has finished. */
  async drain(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  /** Files with work queued or running. */
  get size(): number {
    return this.queues.size;
  }
}
