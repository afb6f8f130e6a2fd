/**
 * The local live inspector (`agents-sdk inspect`): one HTTP and WebSocket server on
 * 127.0.0.1 that
 * - receives inspection streams from runs (`--inspect`, any client of the `@statelyai/inspect`
 *   WebSocket protocol) on any path but `/view`, and keeps every entry of every run;
 * - serves the page (`/`, its script and style, from the package: no network needed) and its
 *   viewers on `/view`: the run list, then every entry of the run a viewer opens so far, then
 *   the new ones as they come;
 * - opens finished runs from the state directory's `<run id>/events.jsonl`.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { PermanentError } from '../errors.js';
import { agentSessionMachine } from '../machines/agent-session.machine.js';
import { orchestratorMachine } from '../machines/orchestrator.machine.js';
import { openStateBackend } from '../persistence/open-state-backend.js';
import { readRunEventLog, runEventLogPath } from '../persistence/run-event-log.js';
import type { StateBackend } from '../persistence/state-backend.js';
import { DEFAULT_INSPECTOR_PORT } from './inspection-client.js';
import { specOf, type InspectionMessage } from './inspection-protocol.js';
import { answerApi, endChildren } from './inspector-api.js';
import { machineView, type MachineView } from './machine-view.js';
import { RunView, runViewFromEventLog, type RunSummary, type ViewEntry } from './run-view.js';

/** A viewer's `entries` frames go out at most this often (ms): a busy run is a few frames a second, not one per message. */
export const VIEWER_FRAME_MS = 100;

/** The package's own machines, drawn once: a live run's `run` frame has them before their first actor arrives. */
let builtInMachines: MachineView[] | null = null;
function packageMachines(): MachineView[] {
  builtInMachines ??= [machineView(orchestratorMachine.config), machineView(agentSessionMachine.config)].filter((v): v is MachineView => v !== undefined);
  return builtInMachines;
}

/** Options of {@link startInspectorServer}. */
export interface InspectorServerOptions {
  /** Default 4747; 0 picks a free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Finished runs are listed and opened from here (`<dir>/<run id>/events.jsonl`); default none. */
  stateDir?: string;
  /** `json` (default) or `sqlite`: where the stored runs' specs and statuses are read. */
  backend?: string;
  /** The CLI script `POST /api/runs/:key/rerun` runs; default this package's `dist/cli.js`. */
  cliPath?: string;
  /** How often a page's stored run that is still going has its event log read again (ms); default 500. */
  tailIntervalMs?: number;
}

/** A running inspector server. */
export interface InspectorServer {
  /** The page's address, e.g. `http://127.0.0.1:4747/`. */
  readonly url: string;
  /** Where runs send inspection: `ws://127.0.0.1:4747`. */
  readonly inspectUrl: string;
  readonly port: number;
  /** Every run known: live ones, then stored ones not live, newest first. */
  runs(): Promise<RunSummary[]>;
  /** What was received from runs: messages and bytes. */
  readonly received: { messages: number; bytes: number };
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
/** elkjs (the statecharts' layout), served from the package's own dependency: the page needs no network. */
const ELK_SCRIPT = createRequire(import.meta.url).resolve('elkjs/lib/elk.bundled.js');
const PAGE_FILES: Record<string, [string, string]> = {
  '/elk.bundled.js': [ELK_SCRIPT, 'text/javascript; charset=utf-8'],
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/inspector.js': ['inspector.js', 'text/javascript; charset=utf-8'],
  '/inspector.css': ['inspector.css', 'text/css; charset=utf-8'],
};

/**
 * Starts the inspector.
 *
 * @throws PermanentError `INVALID_ARGUMENTS` when the port is taken (another inspector, perhaps).
 */
export async function startInspectorServer(options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const host = options.host ?? '127.0.0.1';
  const stateDir = options.stateDir;
  let backend: StateBackend | null = null;
  /** The state dir's backend, opened once the dir exists (a first run may create it after the inspector started). */
  const openBackend = async (): Promise<StateBackend | null> => {
    if (!backend && stateDir !== undefined && existsSync(stateDir)) backend = await openStateBackend(options.backend ?? 'json', stateDir, { readonly: true });
    return backend;
  };
  await openBackend();
  const live = new Map<string, RunView>();
  /** Live runs by connection and root session id. */
  const byRoot = new Map<string, RunView>();
  const stored = new Map<string, { view: RunView; mtimeMs: number }>();
  let storedSummaries: RunSummary[] = [];
  const received = { messages: 0, bytes: 0 };
  const viewers = new Set<WebSocket>();
  let liveCount = 0;
  /** Rerun processes started from the page. */
  const children = new Set<number>();
  let connCount = 0;

  const refreshStored = async (): Promise<void> => {
    try {
      const backend = await openBackend();
      if (!backend || stateDir === undefined) return;
      const runs = await backend.listRuns();
      storedSummaries = runs
        .filter((r) => existsSync(runEventLogPath(stateDir, r.runId)))
        .map((r) => ({
          key: `stored:${r.runId}`,
          runId: r.runId,
          workflowId: r.workflowId,
          source: 'stored' as const,
          status: r.status,
          startedAt: r.startedAt,
          updatedAt: r.updatedAt,
          tasks: r.tasksTotal,
          entries: 0,
          halt: null,
          haltReason: null,
        }));
    } catch {
      // an unreadable state dir lists nothing stored
    }
  };

  const allRuns = (): RunSummary[] => {
    const liveRuns = [...live.values()].map((v) => v.summary());
    const liveIds = new Set(liveRuns.map((r) => r.runId));
    return [...liveRuns, ...storedSummaries.filter((r) => !liveIds.has(r.runId))].sort((a, b) => b.startedAt - a.startedAt);
  };

  const openStored = async (runId: string): Promise<RunView | undefined> => {
    if (stateDir === undefined) return undefined;
    const file = runEventLogPath(stateDir, runId);
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(file)).mtimeMs;
    } catch {
      return undefined;
    }
    const cached = stored.get(runId);
    if (cached && cached.mtimeMs === mtimeMs) return cached.view;
    const { events } = await readRunEventLog(file);
    const checkpoint = await (await openBackend())?.loadRun(runId).catch(() => undefined);
    const spec = checkpoint ? specOf(checkpoint) : undefined;
    const view = runViewFromEventLog(`stored:${runId}`, runId, events, {
      ...(checkpoint?.status === 'running' && { running: true }),
      ...(spec && { spec }),
      ...(checkpoint?.workflow.groups && { groups: checkpoint.workflow.groups }),
      ...(checkpoint?.workflow.on_failure && { onFailure: checkpoint.workflow.on_failure }),
      machines: { run: orchestratorMachine.config, session: agentSessionMachine.config },
    });
    stored.set(runId, { view, mtimeMs });
    return view;
  };

  const findRun = async (key: string): Promise<RunView | undefined> => {
    const found = live.get(key);
    if (found) return found;
    if (key.startsWith('stored:')) return openStored(key.slice('stored:'.length));
    return undefined;
  };

  let listTimer: NodeJS.Timeout | null = null;
  const announceRuns = (): void => {
    if (listTimer || viewers.size === 0) return;
    listTimer = setTimeout(() => {
      listTimer = null;
      const text = JSON.stringify({ type: 'runs', runs: allRuns() });
      for (const viewer of viewers) viewer.send(text);
    }, 200);
    listTimer.unref();
  };

  const http = createServer((req, res) => {
    void handleHttp(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error instanceof Error ? error.message : String(error));
    });
  });

  const handleHttp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const page = PAGE_FILES[path];
    if (page) {
      const body = await readFile(resolve(PAGE_DIR, page[0]));
      res.writeHead(200, { 'content-type': page[1], 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (path === '/api/received') {
      json(res, 200, received);
      return;
    }
    if (path === '/api/runs') {
      await refreshStored();
      json(res, 200, allRuns());
      return;
    }
    const api = await answerApi(req.method ?? 'GET', path, new URL(req.url ?? '/', 'http://localhost').searchParams, () => bodyOf(req), {
      findRun,
      backend: openBackend,
      writableBackend: async () => (stateDir !== undefined && existsSync(stateDir) ? openStateBackend(options.backend ?? 'json', stateDir) : null),
      stateDir,
      cliPath: options.cliPath ?? fileURLToPath(new URL('../cli.js', import.meta.url)),
      children,
    });
    if (api) {
      json(res, api.status, api.body);
      return;
    }
    if (path.startsWith('/api/runs/')) {
      const run = await findRun(decodeURIComponent(path.slice('/api/runs/'.length)));
      if (!run) json(res, 404, { error: 'no such run' });
      else json(res, 200, { run: run.header(), entries: run.entries });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  };

  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  // The http server's errors (a taken port) are reported by the listen below.
  wss.on('error', () => undefined);
  wss.on('connection', (socket, req) => {
    if ((req.url ?? '/').startsWith('/view')) acceptViewer(socket);
    else acceptFeeder(socket);
  });

  const acceptFeeder = (socket: WebSocket): void => {
    const conn = `c${++connCount}`;
    socket.on('message', (data: RawData) => {
      const text = data.toString();
      received.messages += 1;
      received.bytes += Buffer.byteLength(text);
      let message: InspectionMessage;
      try {
        const parsed = JSON.parse(text) as InspectionMessage & { json?: InspectionMessage };
        // Sky's superjson form: { json: message }.
        message = parsed.json && typeof parsed.json === 'object' ? parsed.json : parsed;
      } catch {
        return;
      }
      if (typeof message?.type !== 'string' || !message.type.startsWith('@xstate.') || typeof message.sessionId !== 'string') return;
      const rootKey = `${conn}:${message.rootId ?? message.sessionId}`;
      let run = byRoot.get(rootKey);
      if (!run) {
        run = new RunView(`live-${++liveCount}`, 'live', message.sessionId);
        for (const view of packageMachines()) run.addMachine(view);
        byRoot.set(rootKey, run);
        live.set(run.key, run);
      }
      const before = `${run.runId}|${run.status}|${run.taskCount}`;
      run.applyInspection(message, conn, Buffer.byteLength(text));
      if (`${run.runId}|${run.status}|${run.taskCount}` !== before) announceRuns();
    });
    socket.on('error', () => undefined);
  };

  const acceptViewer = (socket: WebSocket): void => {
    viewers.add(socket);
    let unsubscribe: (() => void) | null = null;
    const send = (value: unknown): void => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(value));
    };
    /**
     * A live run's new entries, gathered for {@link VIEWER_FRAME_MS} into one `entries` frame
     * (at once when the run ends). The machines went with the `run` frame; one added later
     * (another logic's first actor) goes alone in a `machines` frame, before the entries naming it.
     */
    /**
     * A stored run that is still going (its checkpoint says running): its event log is read
     * again as it grows, and the new entries sent, until it ends.
     */
    const tail = (runId: string, key: string, sent: number): (() => void) => {
      let reading = false;
      const timer = setInterval(() => {
        if (reading) return;
        reading = true;
        void openStored(runId)
          .then((view) => {
            if (!view) return;
            if (view.entries.length > sent) send({ type: 'entries', key, entries: view.entries.slice(sent) });
            sent = Math.max(sent, view.entries.length);
            if (view.status !== 'running') clearInterval(timer);
          })
          .finally(() => {
            reading = false;
          });
      }, options.tailIntervalMs ?? 500);
      timer.unref();
      return () => clearInterval(timer);
    };
    const follow = (run: RunView, key: string): (() => void) => {
      let machinesSent = run.machinesVersion;
      let pending: ViewEntry[] = [];
      let timer: NodeJS.Timeout | null = null;
      const flush = (): void => {
        if (timer) clearTimeout(timer);
        timer = null;
        if (run.machinesVersion !== machinesSent) {
          machinesSent = run.machinesVersion;
          send({ type: 'machines', key, machines: run.machines });
        }
        const entries = pending;
        pending = [];
        if (entries.length > 0) send({ type: 'entries', key, entries });
      };
      const stop = run.subscribe((entries: ViewEntry[]) => {
        pending.push(...entries);
        if (entries.some((e) => e.k === 'end')) flush();
        else if (!timer) {
          timer = setTimeout(flush, VIEWER_FRAME_MS);
          timer.unref();
        }
      });
      return () => {
        stop();
        if (timer) clearTimeout(timer);
      };
    };
    void refreshStored().then(() => send({ type: 'runs', runs: allRuns() }));
    socket.on('message', (data: RawData) => {
      let request: { type?: string; key?: string };
      try {
        request = JSON.parse(data.toString()) as typeof request;
      } catch {
        return;
      }
      if (request.type === 'list') void refreshStored().then(() => send({ type: 'runs', runs: allRuns() }));
      if (request.type === 'open' && typeof request.key === 'string') {
        const key = request.key;
        void findRun(key)
          .then((run) => {
            unsubscribe?.();
            unsubscribe = null;
            if (!run) {
              send({ type: 'error', message: `no run ${key}` });
              return;
            }
            send({ type: 'run', run: run.header(), entries: run.entries });
            if (run.source === 'live') unsubscribe = follow(run, key);
            else if (run.status === 'running') unsubscribe = tail(run.runId, key, run.entries.length);
          })
          .catch((error: unknown) => send({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
      }
    });
    socket.on('close', () => {
      viewers.delete(socket);
      unsubscribe?.();
    });
    socket.on('error', () => undefined);
  };

  const port = await new Promise<number>((resolve, reject) => {
    http.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new PermanentError('INVALID_ARGUMENTS', `port ${options.port ?? DEFAULT_INSPECTOR_PORT} on ${host} is in use (another inspector? open http://${host}:${options.port ?? DEFAULT_INSPECTOR_PORT}/, or pass --port)`)
          : error,
      );
    });
    http.listen(options.port ?? DEFAULT_INSPECTOR_PORT, host, () => resolve((http.address() as { port: number }).port));
  }).catch(async (error: unknown) => {
    await backend?.close();
    throw error;
  });
  await refreshStored();

  return {
    url: `http://${host}:${port}/`,
    inspectUrl: `ws://${host}:${port}`,
    port,
    received,
    runs: async () => {
      await refreshStored();
      return allRuns();
    },
    close: async () => {
      if (listTimer) clearTimeout(listTimer);
      endChildren(children);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await backend?.close();
    },
  };
}

/** A request's body as text (at most 1 MB). */
async function bodyOf(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 1024 * 1024) throw new Error('request body over 1 MB');
  }
  return text;
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}
