/**
 * One memory store shared by the runs of an orchestrator: opened when a run first needs it,
 * closed once no run uses it (unless it is to be kept: a store given by the caller, or one that
 * lives in this process only).
 *
 * @module
 */
import type { MemoryBackend } from './memory-backend.js';

/** Options of {@link SharedMemoryStore}. */
export interface SharedMemoryStoreOptions {
  /** Close the store when the last run using it ends (default true). */
  closeWhenUnused?: boolean;
}

/** A lazily opened, reference-counted memory store. */
export class SharedMemoryStore {
  private users = 0;
  private opened: Promise<MemoryBackend> | null = null;
  /** A close in progress: the next open waits for it (two stores on one directory must not overlap). */
  private closing: Promise<void> = Promise.resolve();
  private readonly closeWhenUnused: boolean;

  constructor(
    private readonly open: () => Promise<MemoryBackend>,
    options: SharedMemoryStoreOptions = {},
  ) {
    this.closeWhenUnused = options.closeWhenUnused ?? true;
  }

  /** The store, opened if it is not; pair with {@link SharedMemoryStore.release}. */
  async acquire(): Promise<MemoryBackend> {
    this.users += 1;
    this.opened ??= this.closing.then(() => this.open());
    const opened = this.opened;
    try {
      return await opened;
    } catch (error) {
      this.users -= 1;
      // The next run tries again.
      if (this.opened === opened) this.opened = null;
      throw error;
    }
  }

  /** One user less: the last one closes the store (when it is to be closed). */
  async release(): Promise<void> {
    this.users -= 1;
    if (this.users > 0 || !this.closeWhenUnused || this.opened === null) return;
    const opened = this.opened;
    this.opened = null;
    this.closing = opened.then((store) => store.close()).catch(() => undefined);
    await this.closing;
  }
}
