/**
 * Issue 15 from the library: `createBullmqExecutor` for a `WorkflowOrchestrator` and
 * `startWorker` in-process, as the README's "Scaling out" section shows them, on a real
 * redis-server. The worker here runs an executor of the test's own (the orchestrator cannot
 * tell): how many times it ran, and when, is what the tests look at.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawOutputFile } from '../src/actors/claude-code-runner.js';
import { defaultExecutor, type ExecutionRequest, type Executor } from '../src/actors/executor.js';
import type { ClaudeProgressEvent } from '../src/claude/stream-json.js';
import { JOB_PAYLOAD_VERSION, createBullmqExecutor, jobIdOf, queueNameFor, redisOptionsFromUrl } from '../src/distributed/bullmq-executor.js';
import { queuesServed, runJobPayload, startWorker, type RunningWorker } from '../src/distributed/worker.js';
import { CancelledError } from '../src/errors.js';
import type { ExecutionResult } from '../src/execution-result.js';
import { emptyTokens } from '../src/claude/stream-json.js';
import { WorkflowOrchestrator } from '../src/workflow-orchestrator.js';
import { refuseLocalResumeOfRemoteRun } from '../src/cli/state-commands.js';
import type { RunCheckpoint } from '../src/persistence/state-backend.js';
import { cli } from './helpers/cli.js';
import { fakeWorld } from './helpers/fake-claude.js';
import { startRedis, startWorkerProcess, waitUntil, type TestRedis } from './helpers/redis.js';

function resultOf(output: string): ExecutionResult {
  return { success: true, output, sessionId: null, tokens: emptyTokens(), costUsd: 0, durationMs: 1, numTurns: 1, exitCode: 0 } as unknown as ExecutionResult;
}

/** An executor that answers `ran <prompt>` after `ms`, counting its runs and how many overlap. */
function countingExecutor(ms = 50) {
  const runs: string[] = [];
  let now = 0;
  let max = 0;
  const executor: Executor = async (request, hooks) => {
    const what = request.kind === 'claude' ? request.prompt : request.command.join(' ');
    runs.push(what);
    max = Math.max(max, ++now);
    try {
      hooks.onEvent({ type: 'assistant_text', sessionId: null, text: `working on ${what}` });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, what.includes('hang') ? 60_000 : what.includes('slow') ? 800 : ms);
        hooks.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new CancelledError('aborted by its run'));
        });
      });
      return resultOf(`ran ${what}`);
    } finally {
      now--;
    }
  };
  return { executor, runs, maxOverlap: () => max };
}

describe('scaling out from the library', () => {
  let redis: TestRedis;
  /** The state dir of the runs here (their workers.json, raw outputs): never the repository's agents/. */
  let scratch: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'distributed-library-'));
    redis = await startRedis();
  }, 20_000);
  afterAll(async () => {
    await redis?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('a worker with tags serves its base queue and one per set of its tags', () => {
    expect(queueNameFor('q', ['linux', 'gpu', 'gpu'])).toBe('q@gpu+linux');
    expect(queueNameFor('q', [])).toBe('q');
    expect(queuesServed('q', ['linux', 'gpu'])).toEqual(['q', 'q@gpu', 'q@linux', 'q@gpu+linux']);
  });

  it('runs a workflow on an in-process worker: runs_on routed, one concurrency bound over all queues, the untaken attempt announced', async () => {
    const queue = `lib${Date.now()}`;
    const counting = countingExecutor(80);
    let worker: RunningWorker | undefined;
    const remote = createBullmqExecutor({ connection: redis.url, queue, queuedNoticeMs: 100 });
    const orchestrator = new WorkflowOrchestrator(null, { executor: remote, stateDir: scratch });
    const queued: ClaudeProgressEvent[] = [];
    orchestrator.bus.subscribe('task.progress', ({ payload: e }) => {
      if (e.progress.type === 'queued') queued.push(e.progress);
    });
    try {
      const running = orchestrator.runWorkflow({
        id: 'lib',
        max_parallel: 4,
        tasks: [
          // Longer than a held job waits for a slot (500 ms): the job fetched meanwhile goes back to its queue.
          { id: 'gpu1', prompt: 'gpu one slow', runs_on: ['gpu'] },
          { id: 'gpu2', prompt: 'gpu two', runs_on: ['gpu'] },
          { id: 'plain1', prompt: 'plain one' },
          { id: 'plain2', prompt: 'plain two' },
        ],
      });
      // No worker yet: the attempts wait, and the run says so.
      await waitUntil('a queued notice', () => queued.some((q) => q.type === 'queued' && q.workers === 0 && q.tags.includes('gpu')), 10_000);
      worker = await startWorker({ connection: redis.url, queue, concurrency: 1, tags: ['gpu'], executor: counting.executor });
      const result = await running;
      expect(result.success).toBe(true);
      expect(result.taskResults.map((t) => t.output).sort()).toEqual(['ran gpu one slow', 'ran gpu two', 'ran plain one', 'ran plain two']);
      expect(counting.runs).toHaveLength(4);
      expect(counting.maxOverlap()).toBe(1);
    } finally {
      await worker?.close();
      await remote.close();
    }
  }, 30_000);

  it('a command whose stdout outgrew its result on a worker: its whole stdout lands in the orchestrator\'s state dir, and the result names it', async () => {
    const queue = `stdout${Date.now()}`;
    const stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-remote-stdout-'));
    // The worker writes under a state dir of its own (on another machine the orchestrator's is not there).
    const workerDirs: string[] = [];
    const executor: Executor = (request, hooks) => {
      workerDirs.push(request.kind === 'command' ? request.stateDir! : '');
      return defaultExecutor(request, hooks);
    };
    const worker = await startWorker({ connection: redis.url, queue, executor });
    const remote = createBullmqExecutor({ connection: redis.url, queue });
    try {
      const print = [process.execPath, '-e', "for (let i = 0; i < 100; i++) console.log('line-' + i)"];
      const request: ExecutionRequest = { kind: 'command', command: print, maxOutputChars: 40, stateDir, runId: 'r3', taskId: 'dump', attempt: 1 };
      const result = await remote(request, { signal: new AbortController().signal, onEvent: () => {} });
      const file = join(stateDir, 'r3', 'dump', 'raw_stdout.txt');
      const lines = Array.from({ length: 100 }, (_, i) => `line-${i}`);
      expect(result).toMatchObject({ truncated: true, outputFile: file, output: lines.slice(95).join('\n') });
      expect(readFileSync(file, 'utf8')).toBe(`${lines.join('\n')}\n`);
      expect(workerDirs).toHaveLength(1);
      expect(workerDirs[0]).not.toBe(stateDir);
    } finally {
      await worker.close();
      await remote.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('re-attaches to an interrupted attempt instead of running it again, unless its worker cancelled it', async () => {
    const queue = `reattach${Date.now()}`;
    const counting = countingExecutor(10);
    const worker = await startWorker({ connection: redis.url, queue, executor: counting.executor });
    const remote = createBullmqExecutor({ connection: redis.url, queue });
    const hooks = { signal: new AbortController().signal, onEvent: () => {} };
    try {
      const first: ExecutionRequest = { kind: 'claude', prompt: 'once', runId: 'r1', agentName: 'a', attempt: 1, stateDir: scratch };
      expect((await remote(first, hooks)).output).toBe('ran once');
      // A resumed run's next attempt says attempt 1 was interrupted: its finished job's result is taken.
      const again = await remote({ ...first, attempt: 2, interruptedAttempts: [1] }, hooks);
      expect(again.output).toBe('ran once');
      expect(counting.runs).toEqual(['once']);
      // Cut short twice (attempt 2 re-attached, then the orchestrator died again): attempt 3 finds attempt 1's job.
      expect((await remote({ ...first, attempt: 3, interruptedAttempts: [2, 1] }, hooks)).output).toBe('ran once');
      expect(counting.runs).toEqual(['once']);
      // Only the attempt right after the interrupted ones re-attaches (a retry after it runs).
      await remote({ ...first, attempt: 4, interruptedAttempts: [1] }, hooks);
      expect(counting.runs).toEqual(['once', 'once']);

      // A cancelled attempt is not re-attached to: it runs again.
      const hang: ExecutionRequest = { kind: 'claude', prompt: 'hang then go', runId: 'r2', agentName: 'b', attempt: 1, stateDir: scratch };
      const controller = new AbortController();
      const cancelled = remote(hang, { signal: controller.signal, onEvent: () => {} });
      while (counting.runs.length < 3) await new Promise((r) => setTimeout(r, 10));
      controller.abort();
      await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(jobIdOf(hang)).toBe('r2:b:1');
      // Wait until its worker has recorded the cancel, then resume past it.
      const q = new Queue(queue, { connection: { host: '127.0.0.1', port: Number(new URL(redis.url).port) } });
      try {
        await waitUntil('the cancelled job to complete', async () => (await (await q.getJob('r2:b:1'))?.getState()) === 'completed', 10_000);
      } finally {
        await q.close();
      }
      const retried = remote({ ...hang, prompt: 'hang then go', attempt: 2, interruptedAttempts: [1] }, { signal: AbortSignal.timeout(500), onEvent: () => {} });
      await expect(retried).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(counting.runs.filter((r) => r === 'hang then go')).toHaveLength(2);
    } finally {
      await worker.close();
      await remote.close();
    }
  }, 30_000);

  it('the only worker of a queue dies mid-attempt: nobody is left to find the job stalled, the executor finds its lock gone (WORKER_LOST)', async () => {
    const queue = `alone${Date.now()}`;
    const world = fakeWorld();
    const remote = createBullmqExecutor({ connection: redis.url, queue, pollMs: 200 });
    try {
      const worker = await startWorkerProcess(redis.url, queue, world, 'lonely', { args: ['--tag', 'solo', '--lock-duration', '500'], env: { FAKE_CLAUDE_EXIT_WITH_PARENT: '1' } });
      const request: ExecutionRequest = { kind: 'claude', prompt: 'alone [[delay:5000]]', agentName: 'solo', runId: `lost${Date.now()}`, runsOn: ['solo'], stateDir: scratch };
      const attempt = remote(request, { signal: new AbortController().signal, onEvent: () => {} });
      await worker.waitFor(/started /);
      worker.child.kill('SIGKILL');
      await worker.child;
      const t0 = Date.now();
      await expect(attempt).rejects.toMatchObject({ code: 'WORKER_LOST', transient: true, message: expect.stringMatching(/stopped renewing its lock/) });
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await remote.close();
      world.cleanup();
    }
  }, 30_000);

  it('cancelling an attempt no worker has taken removes its job at once', async () => {
    const queue = `cancel-untaken${Date.now()}`;
    const remote = createBullmqExecutor({ connection: redis.url, queue });
    const q = new Queue(`${queue}@nobody`, { connection: { host: '127.0.0.1', port: Number(new URL(redis.url).port) } });
    try {
      const controller = new AbortController();
      const attempt = remote({ kind: 'command', command: ['true'], taskId: 't', runId: 'r4', runsOn: ['nobody'], stateDir: scratch }, { signal: controller.signal, onEvent: () => {} });
      await waitUntil('the job to be added', async () => (await q.getJob('r4:t:1')) !== undefined, 10_000);
      const t0 = Date.now();
      controller.abort();
      await expect(attempt).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(Date.now() - t0).toBeLessThan(2000);
      await waitUntil('the cancelled job to be removed', async () => (await q.getJob('r4:t:1')) === undefined, 10_000);
    } finally {
      await q.close();
      await remote.close();
    }
  }, 30_000);

  it('an attempt no worker takes within its timeout fails with NO_WORKER and its job is removed', async () => {
    const queue = `noworker${Date.now()}`;
    const remote = createBullmqExecutor({ connection: redis.url, queue });
    const events: ClaudeProgressEvent[] = [];
    try {
      const request: ExecutionRequest = { kind: 'command', command: ['true'], taskId: 't', runId: 'r3', timeoutMs: 300, runsOn: ['arm'], stateDir: scratch };
      await expect(remote(request, { signal: new AbortController().signal, onEvent: (e) => events.push(e) })).rejects.toMatchObject({
        code: 'NO_WORKER',
        transient: false,
      });
      expect(events).toEqual([expect.objectContaining({ type: 'queued', queue: `${queue}@arm`, tags: ['arm'], workers: 0 })]);
      const q = new Queue(`${queue}@arm`, { connection: { host: '127.0.0.1', port: Number(new URL(redis.url).port) } });
      try {
        expect(await q.getJob('r3:t:1')).toBeUndefined();
      } finally {
        await q.close();
      }
    } finally {
      await remote.close();
    }
  }, 30_000);
});

describe('resuming a run whose attempts ran on workers', () => {
  const run = (status: string, taskStatus: string) =>
    ({ runId: 'r9', status, records: [{ taskId: 'a', status: taskStatus }, { taskId: 'b', status: 'completed' }] }) as unknown as RunCheckpoint;
  it('is refused without --redis, or on another queue, while attempts were cut short; anything else goes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-remote-resume-'));
    try {
      // No note: a local run.
      expect(() => refuseLocalResumeOfRemoteRun(dir, run('running', 'running'), {})).not.toThrow();
      mkdirSync(join(dir, 'r9'));
      writeFileSync(join(dir, 'r9', 'workers.json'), JSON.stringify({ queue: 'team', redis: 'cache:6379' }));
      expect(() => refuseLocalResumeOfRemoteRun(dir, run('running', 'running'), {})).toThrow(
        'run r9 ran its attempts on workers (queue "team" on Redis cache:6379) and a was cut short: resume it with --redis redis://cache:6379 --queue team',
      );
      expect(() => refuseLocalResumeOfRemoteRun(dir, run('running', 'running'), { redis: 'redis://cache:6379' })).toThrow('ran its attempts on queue "team", not "agents-sdk"');
      expect(() => refuseLocalResumeOfRemoteRun(dir, run('running', 'running'), { redis: 'redis://cache:6379', queue: 'team' })).not.toThrow();
      // Nothing cut short (a cancelled run, a task waiting to retry): nothing can run twice.
      expect(() => refuseLocalResumeOfRemoteRun(dir, run('cancelled', 'cancelled'), {})).not.toThrow();
      expect(() => refuseLocalResumeOfRemoteRun(dir, run('running', 'pending'), {})).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('jobs, connections and attempt files', () => {
  it('resume --local and --redis together is a usage error', async () => {
    const run = await cli(['resume', 'some-run', '--local', '--redis', 'redis://127.0.0.1:1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--local and --redis cannot be used together');
  });

  it('reads redis:// and rediss:// URLs, and names a bad one', () => {
    expect(redisOptionsFromUrl('redis://user:p%40ss@cache.internal:6380/2')).toEqual({ host: 'cache.internal', port: 6380, username: 'user', password: 'p@ss', db: 2 });
    expect(redisOptionsFromUrl('rediss://cache')).toEqual({ host: 'cache', port: 6379, tls: {} });
    expect(() => redisOptionsFromUrl('cache:6379')).toThrow(/--redis must be a redis:\/\/ URL, got "cache:6379"/);
    expect(() => redisOptionsFromUrl('not a url')).toThrow(/--redis must be a URL like redis:\/\/host:6379/);
  });

  it('a job id keeps its three parts apart whatever the ids hold', () => {
    expect(jobIdOf({ kind: 'command', command: ['true'], taskId: 'a:b', runId: 'r%1', attempt: 3 })).toBe('r%251:a%3Ab:3');
    expect(jobIdOf({ kind: 'claude', prompt: 'p', agentName: 'plan' })).toBe('run:plan:1');
  });

  it('a worker runs a payload in its own directory and hands back the raw stream it wrote, live and whole', async () => {
    const root = mkdtempSync(join(tmpdir(), 'agents-sdk-payload-'));
    try {
      let seen: ExecutionRequest | undefined;
      // Writes its stream as the runner does: under the request's state dir, a line at a time.
      const writing: Executor = async (request) => {
        seen = request;
        const file = rawOutputFile(request as Parameters<typeof rawOutputFile>[0])!;
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, '{"type":"system","subtype":"init"}\n');
        await new Promise((r) => setTimeout(r, 600));
        appendFileSync(file, '{"type":"result","result":"ok"}\n');
        writeFileSync(file.replace(/\.jsonl$/, '.json'), '{"type":"result"}');
        return resultOf('ok');
      };
      const progress: unknown[] = [];
      let kept: { stream: string; result?: string } | undefined;
      const payload = { version: JOB_PAYLOAD_VERSION, request: { kind: 'claude', prompt: 'p', runId: 'r', agentName: 'a', attempt: 2, cwd: 'sub', stateDir: 'agents' } };
      const outcome = await runJobPayload(payload, writing, root, new AbortController().signal, async (p) => void progress.push(p), async (files) => {
        kept = files;
        return 'key-1';
      });
      expect(outcome).toMatchObject({ ok: true, files: 'key-1' });
      expect(seen!.cwd).toBe(join(root, 'sub'));
      // The stream went to a scratch dir (removed since), not under the worker's directory.
      expect(seen!.stateDir).not.toContain(root);
      expect(existsSync(seen!.stateDir!)).toBe(false);
      expect(kept).toEqual({ stream: '{"type":"system","subtype":"init"}\n{"type":"result","result":"ok"}\n', result: '{"type":"result"}' });
      expect(progress[0]).toEqual({ rawSeq: 0, raw: '{"type":"system","subtype":"init"}\n' });

      // Keeping the files failed: the result still goes back, without them.
      const failedKeep = await runJobPayload(payload, writing, root, new AbortController().signal, async () => {}, async () => {
        throw new Error('redis down');
      });
      expect(failedKeep.ok).toBe(true);
      expect(failedKeep.files).toBeUndefined();
      // A relative state dir of a command request is the worker's.
      const command = await runJobPayload(
        { version: JOB_PAYLOAD_VERSION, request: { kind: 'command', command: ['true'], taskId: 't', stateDir: 'state' } },
        async (request) => {
          seen = request;
          return resultOf('');
        },
        root,
        new AbortController().signal,
        async () => {},
      );
      expect(command.ok).toBe(true);
      expect(seen!.stateDir).toBe(join(root, 'state'));
      expect(seen!.cwd).toBe(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
