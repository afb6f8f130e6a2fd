/**
 * The public surface is a design: the root export holds what an application embeds (at most 60
 * runtime names), and the specialised parts are subpaths of the package (`agents-sdk/bullmq`,
 * `/memory`, `/sqlite`, `/inspector`, `/adw`), resolved through package.json "exports" from the
 * built package, as a user's `import` would.
 */
import { describe, expect, it } from 'vitest';

describe('the root export', () => {
  it('holds at most 60 runtime names, our internal helpers not among them', async () => {
    const root = await import('agents-sdk');
    const names = Object.keys(root);
    expect(names.length).toBeGreaterThan(30);
    expect(names.length).toBeLessThanOrEqual(60);
    for (const internal of ['escapeHtml', 'nearestRank', 'cosineSimilarity', 'RECORD_CHUNK', 'jobIdOf', 'checkRedis', 'describeEvent']) {
      expect(names).not.toContain(internal);
    }
    for (const embedded of ['AgentSession', 'WorkflowOrchestrator', 'loadWorkflowFile', 'validateWorkflow', 'planWorkflow', 'defineWorkflow', 'JsonStateBackend', 'createEventBus', 'EventBus', 'sendSignal', 'AgentMemory', 'MetricsCollector', 'startInspectorServer', 'loadRunReport', 'AgentsSdkError']) {
      expect(names).toContain(embedded);
    }
  });

  it('has one event bus, and no deprecated aliases of it', async () => {
    const root = await import('agents-sdk');
    const bus = root.createEventBus<{ ping: number }>();
    expect(bus).toBeInstanceOf(root.EventBus);
    for (const gone of ['createPriorityEventBus', 'PriorityEventBus', 'createLifecycleBus', 'bridgeLifecycleEvents']) {
      expect(Object.keys(root)).not.toContain(gone);
    }
  });
});

describe('the subpath exports', () => {
  it('agents-sdk/bullmq runs tasks through BullMQ queues and workers', async () => {
    const { createBullmqExecutor, startWorker, queueNameFor } = await import('agents-sdk/bullmq');
    expect(typeof createBullmqExecutor).toBe('function');
    expect(typeof startWorker).toBe('function');
    expect(queueNameFor('agents', ['gpu'])).toBe('agents@gpu');
  });

  it('agents-sdk/sqlite opens the SQLite state and memory backends', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { SqliteStateBackend, SqliteMemoryBackend } = await import('agents-sdk/sqlite');
    const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-subpath-'));
    try {
      const memory = await SqliteMemoryBackend.open(join(dir, 'memory.sqlite'));
      await memory.store('skill:x', 'kept');
      expect((await memory.retrieve('skill:x'))).toBe('kept');
      await memory.close();
      const state = await SqliteStateBackend.open(join(dir, 'state.sqlite'));
      expect(await state.listRuns()).toEqual([]);
      await state.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('agents-sdk/memory holds the whole of agent memory', async () => {
    const memory = await import('agents-sdk/memory');
    const backend = new memory.InMemoryBackend();
    const patterns = new memory.MemoryPatterns(backend);
    expect(memory.SKILL_PREFIX).toBe('skill:');
    expect(typeof patterns).toBe('object');
    expect(memory.formatMessage({ role: 'user', content: 'hi', timestamp: 1 })).toContain('hi');
  });

  it('agents-sdk/inspector holds the inspector, report and diagram details', async () => {
    const inspector = await import('agents-sdk/inspector');
    expect(inspector.parseInspectTarget('local')).toBe('local');
    expect(inspector.DIAGRAM_FORMATS).toContain('mermaid');
    expect(typeof inspector.buildRunReport).toBe('function');
    expect(inspector.EVENT_LOG_FILE).toBe('events.jsonl');
  });

  it('agents-sdk/adw holds the ADW drop-ins', async () => {
    const adw = await import('agents-sdk/adw');
    expect(typeof adw.promptClaudeCode).toBe('function');
    expect(typeof adw.executeTemplate).toBe('function');
    expect(adw.readAdwState).toBeTypeOf('function');
  });
});
