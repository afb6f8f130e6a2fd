/**
 * Watches a running run's inboxes (its own and the state dir's broadcast one) so that a signal
 * sent from another process (`agents-sdk signal`) or published by another run reaches it.
 * Polls the backend from a cursor: an append is seen within one interval, and reading nothing
 * new costs one `stat` (JSON) or one indexed query (SQLite).
 *
 * @module
 */
import { BROADCAST_SCOPE, type Signal, type SignalStore } from './signal.js';

/** How often a running run looks for new signals (ms). */
export const SIGNAL_POLL_MS = 200;

/** Where each inbox was read up to. */
export interface SignalCursors {
  run: number;
  broadcast: number;
}

/**
 * The signals for a run stored so far: its own inbox whole, and the broadcast signals published
 * since the run started by other runs; with the cursors to watch on from.
 */
export async function readInboxes(store: SignalStore, runId: string, since: number): Promise<{ signals: Signal[]; cursors: SignalCursors }> {
  const own = await store.readSignals(runId, 0);
  const broadcast = await store.readSignals(BROADCAST_SCOPE, 0);
  return {
    signals: [...own.signals, ...broadcast.signals.filter((s) => forRun(s, runId, since))],
    cursors: { run: own.cursor, broadcast: broadcast.cursor },
  };
}

/** A broadcast signal counts for a run when another run published it after this one started. */
function forRun(signal: Signal, runId: string, since: number): boolean {
  return signal.at >= since && !signal.source.startsWith(`${runId}/`);
}

/** Polls a run's inboxes and hands every new signal to `deliver`, until stopped. */
export class SignalWatcher {
  private timer: NodeJS.Timeout | null = null;
  private reading = false;

  constructor(
    private readonly store: SignalStore,
    private readonly runId: string,
    private readonly since: number,
    private cursors: SignalCursors,
    private readonly deliver: (signal: Signal) => void,
    private readonly intervalMs = SIGNAL_POLL_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    // Not unref'd: a run whose tasks all wait for a signal has nothing else keeping the process alive.
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reads both inboxes once (a read still in progress is not started again). */
  async poll(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const own = await this.store.readSignals(this.runId, this.cursors.run);
      const broadcast = await this.store.readSignals(BROADCAST_SCOPE, this.cursors.broadcast);
      this.cursors = { run: own.cursor, broadcast: broadcast.cursor };
      if (this.timer === null) return;
      for (const signal of own.signals) this.deliver(signal);
      for (const signal of broadcast.signals) if (forRun(signal, this.runId, this.since)) this.deliver(signal);
    } catch {
      // A failed read (a backend closing, a busy database) is retried at the next interval.
    } finally {
      this.reading = false;
    }
  }
}
