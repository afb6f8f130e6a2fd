/**
 * What the inspector page tests share: a fake `claude` world, the recordings of a big run
 * (`bigRecordings`), a local inspector server reading the world's state dir, and a headless
 * Chromium; `orchestrator(backend)` replays those recordings instantly and feeds the server.
 */
import { rmSync } from 'node:fs';
import type { Browser } from 'puppeteer-core';
import { createReplayExecutor, startInspectorServer, WorkflowOrchestrator, type InspectorServer, type InspectTarget, type StateBackend } from '../../src/index.js';
import { bigRecordings } from './big-runs.js';
import { launchChromium } from './chromium.js';
import { fakeWorld, type FakeWorld } from './fake-claude.js';

export interface InspectedWorld {
  world: FakeWorld;
  server: InspectorServer;
  browser: Browser;
  recordings: string;
  /** An orchestrator on `backend` whose agents replay the recordings and whose runs the server sees. */
  orchestrator(backend: StateBackend): WorkflowOrchestrator;
  /** Closes the browser and the server, and removes the world and the recordings. */
  close(): Promise<void>;
}

/** Starts the world, the server and Chromium, with recordings for a run of `tasks` agents. */
export async function startInspectedWorld(tasks: number): Promise<InspectedWorld> {
  const world = fakeWorld();
  const recordings = bigRecordings(tasks);
  const server = await startInspectorServer({ port: 0, stateDir: world.stateDir });
  const browser = await launchChromium();
  return {
    world,
    server,
    browser,
    recordings,
    orchestrator: (backend) =>
      new WorkflowOrchestrator(backend, { stateDir: world.stateDir, executor: createReplayExecutor(recordings, { speed: 0 }), inspect: server.inspectUrl as InspectTarget }),
    close: async () => {
      await browser.close();
      await server.close();
      world.cleanup();
      rmSync(recordings, { recursive: true, force: true });
    },
  };
}
