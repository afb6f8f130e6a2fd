/**
 * The live block's arithmetic, without a terminal: lines are cut to the width, a redraw after a
 * resize erases the rows the old block takes at the new width, a SIGWINCH redraws at once, and
 * Claude Code's API retries show in the task's line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { publishLifecycleEvent } from '../src/event-bus.js';
import { WorkflowOrchestrator } from '../src/index.js';
import { ProgressView } from '../src/cli/progress-view.js';
import { describeApiRetry } from '../src/cli/progress-view.js';
import { showProgress } from '../src/cli/run-command.js';
import { displayWidth, fitToWidth, oneLine } from '../src/cli/terminal-width.js';
import { TerminalScreen } from './helpers/terminal-screen.js';

const base = { workflowId: 'w', runId: 'r', at: 1_000 };
const LONG_NOTE = 'tool Bash, then a note long enough to wrap any ordinary terminal more than once over';

function busyView(): ProgressView {
  const view = new ProgressView(() => 3_000);
  view.apply({ type: 'workflow.started', ...base, taskIds: ['a-task-with-a-long-name', 'b'], resumed: false });
  view.apply({ type: 'task.started', ...base, taskId: 'a-task-with-a-long-name', attempt: 1, maxAttempts: 3 });
  view.apply({
    type: 'task.progress',
    ...base,
    taskId: 'a-task-with-a-long-name',
    attempt: 1,
    progress: { type: 'tool_use', sessionId: null, toolUseId: 't', name: LONG_NOTE, input: {} },
  });
  return view;
}

const headers = (screen: TerminalScreen): string[] => screen.lines().filter((l) => l.startsWith('tasks:'));

describe('cutting a line to the terminal width', () => {
  it('keeps what fits and ends a cut line with an ellipsis, counting wide characters as two cells', () => {
    expect(fitToWidth('short', 10)).toBe('short');
    expect(fitToWidth('exactly10!', 10)).toBe('exactly10!');
    expect(fitToWidth('one more than fits', 10)).toBe('one more…');
    expect(displayWidth('漢字ok')).toBe(6);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('🚀')).toBe(2);
    // A wide character that would straddle the edge is left out whole.
    expect(fitToWidth('ab漢字漢字', 5)).toBe('ab漢…');
    expect(fitToWidth('abc漢字漢字', 5)).toBe('abc…');
    expect(displayWidth(fitToWidth('漢字漢字漢字', 7))).toBeLessThanOrEqual(7);
    expect(fitToWidth('anything', 0)).toBe('');
  });

  it('one row of text: no line breaks, no escape sequences', () => {
    expect(oneLine('a\nb\r\nc\td')).toBe('a b c d');
    expect(oneLine('\u001b[31mred\u001b[0m \u001b]0;title\u0007done\u0000')).toBe('red done');
  });
});

describe('the live block', () => {
  it('cuts every line to one cell short of the width, so that redraws stay in place', () => {
    const view = busyView();
    const screen = new TerminalScreen(40);
    for (let i = 0; i < 5; i++) {
      const text = view.redraw(40);
      for (const line of text.replace(/\u001b\[\d*A|\r|\u001b\[0J/g, '').split('\n')) expect(displayWidth(line)).toBeLessThan(40);
      screen.write(text.replace(/\n/g, '\r\n'));
    }
    expect(headers(screen)).toEqual(['tasks: 1 running, 1 pending']);
    expect(screen.lines()).toHaveLength(3);
  });

  it('after the terminal is narrowed, erases the rows the old lines wrapped into', () => {
    const view = busyView();
    const screen = new TerminalScreen(120);
    screen.write(view.redraw(120).replace(/\n/g, '\r\n'));
    screen.resize(50);
    screen.write(view.redraw(50).replace(/\n/g, '\r\n'));
    expect(headers(screen)).toEqual(['tasks: 1 running, 1 pending']);
    expect(screen.lines()).toHaveLength(3);
  });

  it("shows Claude Code's API retry in the task's line", () => {
    const view = busyView();
    const retry = {
      type: 'api_retry',
      sessionId: null,
      attempt: 2,
      maxRetries: 10,
      errorStatus: 529,
      error: 'overloaded',
      retryDelayMs: 4_000,
    } as const;
    expect(view.apply({ type: 'task.progress', ...base, taskId: 'b', attempt: 1, progress: retry })).toBe('b: API retry 2/10 after 529 overloaded, next in 4.0s');
    expect(view.render()).toMatch(/^· b\s.*API retry 2\/10 after 529 overloaded, next in 4\.0s$/m);
    expect(describeApiRetry({ ...retry, attempt: null, errorStatus: null, error: null, retryDelayMs: null })).toBe('API retry');
    expect(describeApiRetry({ ...retry, maxRetries: null, error: null })).toBe('API retry 2 after 529, next in 4.0s');
  });
});

describe('showProgress on a terminal', () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it('redraws at once on SIGWINCH, at the new width, and stops listening when the run ends', () => {
    const orchestrator = new WorkflowOrchestrator(null);
    const written: string[] = [];
    let columns = 120;
    const listeners = process.listenerCount('SIGWINCH');
    const progress = showProgress(
      orchestrator,
      { stdout: (t) => written.push(t), stderr: (t) => written.push(t), isTTY: true, get columns() { return columns; } },
      false,
    );
    stop = () => progress.stop();
    publishLifecycleEvent(orchestrator.bus, { type: 'workflow.started', ...base, taskIds: ['a'], resumed: false });
    publishLifecycleEvent(orchestrator.bus, {
      type: 'task.progress',
      ...base,
      taskId: 'a',
      attempt: 1,
      progress: { type: 'tool_use', sessionId: null, toolUseId: 't', name: LONG_NOTE, input: {} },
    });
    columns = 30;
    process.emit('SIGWINCH', 'SIGWINCH');
    expect(written).toHaveLength(1);
    const lines = written[0]!.replace(/\u001b\[\d*A|\r|\u001b\[0J/g, '').split('\n').filter(Boolean);
    expect(lines[0]).toBe('tasks: 1 pending');
    for (const line of lines) expect(displayWidth(line)).toBeLessThan(30);
    progress.stop();
    stop = undefined;
    expect(process.listenerCount('SIGWINCH')).toBe(listeners);
  });
});
