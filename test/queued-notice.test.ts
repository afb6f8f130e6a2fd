/**
 * The notice of a remote attempt no worker has taken yet (issue 15), as the live view, the log
 * lines and the structured log fields say it.
 */
import { describe, expect, it } from 'vitest';
import type { ClaudeProgressEvent } from '../src/claude/stream-json.js';
import { describeQueued } from '../src/claude/transcript.js';
import { ProgressView } from '../src/cli/progress-view.js';
import { describeEvent } from '../src/logging/run-logger.js';

type Queued = Extract<ClaudeProgressEvent, { type: 'queued' }>;
const queued = (over: Partial<Queued>): Queued => ({ type: 'queued', sessionId: null, queue: 'agents-sdk@gpu', tags: ['gpu'], workers: 0, waitedMs: 5200, ...over });

describe('a remote attempt waiting for a worker', () => {
  it('names the missing tags, or says the workers are busy', () => {
    expect(describeQueued(queued({}))).toBe('waiting for a worker for 5.2s: no worker with tag gpu is connected to queue agents-sdk@gpu');
    expect(describeQueued(queued({ tags: ['gpu', 'linux'], queue: 'q@gpu+linux' }))).toBe(
      'waiting for a worker for 5.2s: no worker with tags gpu, linux is connected to queue q@gpu+linux',
    );
    expect(describeQueued(queued({ tags: [], queue: 'q', workers: 0 }))).toBe('waiting for a worker for 5.2s: no worker is connected to queue q');
    expect(describeQueued(queued({ tags: [], queue: 'q', workers: 3 }))).toBe('waiting for a worker for 5.2s: 3 workers on queue q, all busy');
  });

  it('shows in the live view and the log lines', () => {
    const view = new ProgressView(() => 7_000);
    const base = { workflowId: 'w', runId: 'r', at: 1_000 };
    view.apply({ type: 'workflow.started', ...base, taskIds: ['train'], resumed: false });
    view.apply({ type: 'task.started', ...base, taskId: 'train', attempt: 1, maxAttempts: 1 });
    const event = { type: 'task.progress' as const, ...base, taskId: 'train', attempt: 1, progress: queued({}) };
    expect(view.apply(event)).toBe('train: waiting for a worker for 5.2s: no worker with tag gpu is connected to queue agents-sdk@gpu');
    expect(view.render()).toContain('waiting for a worker');
    expect(describeEvent(event)).toBe('task train: waiting for a worker for 5.2s: no worker with tag gpu is connected to queue agents-sdk@gpu');
  });
});
