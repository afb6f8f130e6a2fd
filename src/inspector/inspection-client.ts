/**
 * The inspection forwarder that `--inspect` attaches to a run: an XState `inspect` observer
 * that sends compact messages of the `@statelyai/inspect` WebSocket protocol (see
 * inspection-protocol.ts) to a receiver: the local inspector (`agents-sdk inspect`), any
 * receiver of that protocol, or Stately Sky.
 *
 * Unlike `createWebSocketInspector`, it never holds a process up: a receiver that cannot be
 * reached costs one warning and the messages are dropped (no retry loop); `stop()` sends what
 * is queued and closes the socket, with every timer unref'd; a receiver that goes away mid-run
 * is the same single warning.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { inspectTargetUrl, type InspectTarget } from './inspect-target.js';
import {
  bounded,
  compactEvent,
  compactRunContext,
  compactSessionContext,
  definitionOf,
  isRunContext,
  isSessionContext,
  nameOf,
  PROTOCOL_VERSION,
  rootIdOf,
  type InspectionMessage,
} from './inspection-protocol.js';

export { DEFAULT_INSPECTOR_PORT, inspectTargetUrl, parseInspectTarget, type InspectTarget } from './inspect-target.js';

/** Options of {@link createInspector}. */
export interface InspectorOptions {
  /** Default `local`: `ws://127.0.0.1:4747`, the local inspector. */
  target?: InspectTarget;
  /** Told once when the receiver cannot be reached or goes away; default: a line on stderr. */
  onWarning?: (message: string) => void;
  /** Told the Sky link to open once connected (target `sky`); default: a line on stderr. */
  onInfo?: (message: string) => void;
  /** How long connecting may take before the receiver counts as missing (ms); default 3,000. */
  connectTimeoutMs?: number;
  /** An actor's snapshots are sent at most this often (ms, its latest state; a final one at once); default 50. */
  snapshotIntervalMs?: number;
  /**
   * No receiver yet (a run started before `agents-sdk inspect`): try again after these waits
   * (ms; the last one repeats) until one answers or the run ends, keeping what the run sends
   * meanwhile, so that the receiver gets the whole run. Default 250, 500, 1,000, 2,000, 4,000;
   * `[]` gives up at once. Not for `sky`.
   */
  reconnectDelaysMs?: number[];
  /** The clock reconnects wait on (tests inject one); default `setTimeout`, unref'd. */
  schedule?: (fn: () => void, ms: number) => void;
}

/** See {@link InspectorOptions.reconnectDelaysMs}. */
export const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 4000];

/** What an inspector has sent. */
export interface InspectorStats {
  /** Messages and their size (characters: bytes, for ASCII) handed to the socket (or queued while it connected). */
  messages: number;
  bytes: number;
  /** Messages dropped: no receiver. */
  dropped: number;
}

/** A forwarder: pass `inspect` to XState (or to the orchestrator), `stop()` at the end. */
export interface Inspector {
  /** The XState inspection observer. */
  readonly inspect: (event: InspectionEvent) => void;
  /** Sends what is queued (waiting at most ~`connectTimeoutMs` + 3 s) and closes the connection. Idempotent. */
  stop(): Promise<void>;
  /** Counts of what was sent. */
  readonly stats: InspectorStats;
  /** The receiver's URL. */
  readonly url: string;
}

const SKY_HOST = 'stately-sky-beta.mellson.partykit.dev';
const SKY_INSPECT_URL = 'https://stately.ai/registry/inspect';
/** More than this queued while connecting (bytes) and the oldest messages are dropped. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/**
 * Creates a forwarder to a receiver of the `@statelyai/inspect` WebSocket protocol.
 *
 * @example
 * ```ts
 * const inspector = createInspector({ target: 'local' }); // agents-sdk inspect is listening
 * const orchestrator = new WorkflowOrchestrator({ inspect: inspector.inspect });
 * try { await orchestrator.runWorkflow(spec); } finally { await inspector.stop(); }
 * ```
 */
export function createInspector(options: InspectorOptions = {}): Inspector {
  const target = options.target ?? 'local';
  const warn = options.onWarning ?? ((message: string) => process.stderr.write(`agents-sdk: ${message}\n`));
  const info = options.onInfo ?? ((message: string) => process.stderr.write(`${message}\n`));
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
  const intervalMs = options.snapshotIntervalMs ?? 50;
  let url: string;
  let wrap: (text: string) => string = (text) => text;
  let onOpen = (): void => undefined;
  if (target === 'sky') {
    // The Sky room of @statelyai/inspect's createSkyInspector, without its endless reconnecting.
    const session = randomUUID();
    url = `wss://${SKY_HOST}/party/inspect-${session}`;
    // superjson's form of plain JSON.
    wrap = (text) => `{"json":${text}}`;
    const link = `${SKY_INSPECT_URL}/${session}`;
    onOpen = () => info(`inspector: live at ${link}`);
  } else {
    url = inspectTargetUrl(target);
  }

  const stats: InspectorStats = { messages: 0, bytes: 0, dropped: 0 };
  let state: 'connecting' | 'open' | 'gone' = 'connecting';
  let stopped = false;
  let warned = false;
  let queue: string[] = [];
  let queuedBytes = 0;
  const settledConnecting: Array<() => void> = [];
  const gone = (message: string): void => {
    if (state === 'gone') return;
    state = 'gone';
    stats.dropped += queue.length;
    queue = [];
    if (!warned) {
      warned = true;
      warn(message);
    }
    for (const done of settledConnecting.splice(0)) done();
  };

  const delays = target === 'sky' ? [] : (options.reconnectDelaysMs ?? RECONNECT_DELAYS_MS);
  const schedule = options.schedule ?? unrefTimeout;
  let retries = 0;
  /** A connection attempt is under way (else a retry waits). */
  let trying = false;
  let socket: WebSocket;
  const connect = (): void => {
    trying = true;
    socket = new WebSocket(url, { handshakeTimeout: connectTimeoutMs });
    socket.on('open', onOpened);
    socket.on('error', onError);
    socket.on('close', () => {
      if (state === 'open') gone(`inspector: ${url} closed the connection; the run goes on without inspection`);
    });
    // Nothing comes back in this protocol.
    socket.on('message', () => undefined);
  };
  const onOpened = (): void => {
    if (state !== 'connecting') return;
    state = 'open';
    outgoing.push(...queue);
    flushOutgoing();
    queue = [];
    queuedBytes = 0;
    onOpen();
    for (const done of settledConnecting.splice(0)) done();
  };
  const onError = (error: NodeJS.ErrnoException): void => {
    const why = error.code ?? error.message;
    trying = false;
    if (state === 'connecting' && !stopped && delays.length > 0) {
      // No receiver yet: keep what comes and try again.
      if (!warned) {
        warned = true;
        warn(`inspector: no receiver at ${url} (${why}); trying again until one answers (start one with: agents-sdk inspect)`);
      }
      const delay = delays[Math.min(retries, delays.length - 1)]!;
      retries += 1;
      schedule(() => {
        if (state === 'connecting' && !stopped) connect();
      }, delay);
      return;
    }
    gone(
      state === 'connecting'
        ? `inspector: no receiver at ${url} (${why}); the run goes on without inspection (start one with: agents-sdk inspect)`
        : `inspector: the connection to ${url} failed (${why}); the run goes on without inspection`,
    );
  };
  connect();

  // Messages of one event-loop turn go out in one write (a socket write per message is most
  // of the cost on a busy run).
  let outgoing: string[] = [];
  const flushOutgoing = (): void => {
    const batch = outgoing;
    outgoing = [];
    if (state !== 'open' || batch.length === 0) return;
    const raw = (socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    raw?.cork();
    for (const text of batch) socket.send(text);
    raw?.uncork();
  };
  const send = (message: InspectionMessage): void => {
    if (state === 'gone') {
      stats.dropped += 1;
      return;
    }
    const text = wrap(JSON.stringify(message));
    // UTF-16 units: bytes for the ASCII these messages mostly are, without counting them.
    const size = text.length;
    stats.messages += 1;
    stats.bytes += size;
    if (state === 'open') {
      outgoing.push(text);
      if (outgoing.length === 1) setImmediate(flushOutgoing);
      return;
    }
    queue.push(text);
    queuedBytes += size;
    while (queuedBytes > MAX_QUEUED_BYTES && queue.length > 1) {
      queuedBytes -= queue.shift()!.length;
      stats.dropped += 1;
    }
  };

  // Snapshots go out at most every `intervalMs` per actor, as its latest state (a final one
  // at once): a run's quick steps cost one message, not one each.
  const actors = new Map<string, { actorRef: AnyActorRef; sent: unknown[]; dirty: boolean; rootId: string; isRun: boolean }>();
  let timer: NodeJS.Timeout | null = null;
  const flushSnapshots = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    for (const actor of actors.values()) {
      const snapshot = actor.actorRef.getSnapshot() as { status: string; value: unknown; context: unknown; output?: unknown };
      if (actor.dirty) send(snapshotMessage(actor.actorRef, actor.rootId, snapshot, actor.sent));
      actor.dirty = false;
      if (snapshot.status !== 'active') actors.delete(actor.actorRef.sessionId);
    }
  };

  const pendingActors: Array<{ actorRef: AnyActorRef; rootId: string }> = [];
  // A machine's definition goes with its first actor only: receivers know it by name after.
  const defined = new Set<string>();
  const sendActor = (actorRef: AnyActorRef, rootId: string, snapshot: { status: string; value?: unknown; context?: unknown }): void => {
    const sent: unknown[] = [];
    const name = nameOf(actorRef);
    const definition = defined.has(name) ? undefined : definitionOf(actorRef);
    defined.add(name);
    actors.set(actorRef.sessionId, { actorRef, sent, dirty: false, rootId, isRun: isRunContext(snapshot.context) });
    send({
      type: '@xstate.actor',
      name,
      sessionId: actorRef.sessionId,
      rootId,
      parentId: (actorRef as { _parent?: AnyActorRef })._parent?.sessionId,
      id: actorRef.id,
      definition,
      snapshot: compactSnapshot(snapshot, sent, true),
      createdAt: Date.now().toString(),
      _version: PROTOCOL_VERSION,
    });
  };
  const flushActors = (): void => {
    while (pendingActors.length > 0) {
      const { actorRef, rootId } = pendingActors[0]!;
      let snapshot: { status: string } | undefined;
      try {
        snapshot = actorRef.getSnapshot() as { status: string } | undefined;
      } catch {
        snapshot = undefined;
      }
      if (!snapshot) return;
      pendingActors.shift();
      sendActor(actorRef, rootId, snapshot);
    }
  };

  const inspect = (event: InspectionEvent): void => {
    if (stopped || state === 'gone') return;
    const actorRef = event.actorRef as AnyActorRef;
    const rootId = rootIdOf(event);
    if (pendingActors.length > 0) flushActors();
    switch (event.type) {
      case '@xstate.actor':
        // XState announces an actor before its first snapshot exists: sent once it does.
        pendingActors.push({ actorRef, rootId });
        queueMicrotask(flushActors);
        return;
      case '@xstate.event':
        send({
          type: '@xstate.event',
          sessionId: actorRef.sessionId,
          sourceId: event.sourceRef?.sessionId,
          rootId,
          event: compactEvent(event.event, actors.get((actorRef as { _parent?: AnyActorRef })._parent?.sessionId ?? '')?.isRun === true),
          createdAt: Date.now().toString(),
          _version: PROTOCOL_VERSION,
        });
        return;
      case '@xstate.snapshot': {
        const actor = actors.get(actorRef.sessionId);
        const snapshot = event.snapshot as unknown as { status: string };
        if (!actor) {
          // An actor whose announcement is still pending sends its state with it.
          if (!pendingActors.some((p) => p.actorRef === actorRef)) send(snapshotMessage(actorRef, rootId, snapshot, []));
          return;
        }
        actor.dirty = true;
        if (snapshot.status !== 'active') {
          actor.dirty = false;
          actors.delete(actorRef.sessionId);
          send(snapshotMessage(actorRef, rootId, snapshot, actor.sent));
        } else if (!timer) {
          timer = setTimeout(flushSnapshots, intervalMs);
          timer.unref();
        }
        return;
      }
      default:
        // microsteps and actions: the snapshots say what they did.
        return;
    }
  };

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      flushActors();
      flushSnapshots();
      stopped = true;
      // The run ended between two tries: no receiver came while it ran.
      if (state === 'connecting' && !trying) gone(`inspector: no receiver at ${url} answered while the run went; it was not inspected`);
      if (state === 'connecting') {
        await new Promise<void>((resolve) => {
          settledConnecting.push(resolve);
          unrefTimeout(() => {
            gone(`inspector: no receiver at ${url} (no answer in ${connectTimeoutMs} ms); the run goes on without inspection`);
            resolve();
          }, connectTimeoutMs);
        });
      }
      if (state === 'open') {
        flushOutgoing();
        // What is buffered is sent (up to 2 s), then the close handshake (up to 1 s).
        const until = Date.now() + 2000;
        while (socket.bufferedAmount > 0 && Date.now() < until) await new Promise<void>((resolve) => unrefTimeout(resolve, 10));
        state = 'gone';
        await new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          unrefTimeout(() => {
            socket.terminate();
            resolve();
          }, 1000);
          socket.close(1000, 'run ended');
        });
      } else {
        socket.terminate();
      }
    })();
    return stopping;
  };

  return { inspect, stop, stats, url };
}

function unrefTimeout(fn: () => void, ms: number): void {
  setTimeout(fn, ms).unref();
}

/** A snapshot, compact: see inspection-protocol.ts. */
function compactSnapshot(
  snapshot: { status: string; value?: unknown; context?: unknown; output?: unknown; error?: unknown },
  sent: unknown[],
  withSpec: boolean,
): NonNullable<InspectionMessage['snapshot']> {
  const context = snapshot.context;
  const run = isRunContext(context);
  const out: NonNullable<InspectionMessage['snapshot']> = {
    status: snapshot.status,
    value: bounded(snapshot.value),
    context: run ? compactRunContext(context, sent, withSpec) : isSessionContext(context) ? compactSessionContext(context) : bounded(context),
  };
  if (snapshot.output !== undefined) {
    // A run's output holds every task's output: its status and totals say enough.
    const o = snapshot.output as Record<string, unknown>;
    out.output = run ? { status: o.status, success: o.success, costUsd: o.costUsd, durationMs: o.durationMs } : bounded(snapshot.output);
  }
  if (snapshot.error !== undefined) out.error = bounded(snapshot.error);
  return out;
}

function snapshotMessage(
  actorRef: AnyActorRef,
  rootId: string,
  snapshot: { status: string; value?: unknown; context?: unknown; output?: unknown; error?: unknown },
  sent: unknown[],
): InspectionMessage {
  return {
    type: '@xstate.snapshot',
    sessionId: actorRef.sessionId,
    rootId,
    snapshot: compactSnapshot(snapshot, sent, false),
    // The event that caused it went out as an @xstate.event message.
    event: { type: '' },
    createdAt: Date.now().toString(),
    _version: PROTOCOL_VERSION,
  };
}
