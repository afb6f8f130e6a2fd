/**
 * `agents-sdk logs <run> <task>` shows the structured output of an attempt that gave one: an
 * agent's (`output_schema`: the `structured_output` of its result line) and a command's
 * (`output: json`), as a `json:` entry (`--json`: kind `json`). An attempt without one shows none.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

let root: string;
let stateDir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'agents-sdk-logs-json-'));
  stateDir = join(root, 'state');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

interface Entry {
  taskId: string;
  attempt: number;
  kind: string;
  value?: unknown;
  text?: string;
}

async function jsonLogs(runId: string, taskId: string): Promise<Entry[]> {
  const out = await cli(['logs', runId, taskId, '--json', '--state-dir', stateDir]);
  expect(out.code).toBe(0);
  return out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Entry);
}

describe('logs shows structured output', () => {
  it("an agent's: the object its StructuredOutput call gave, before the result (whose text is not repeated)", async () => {
    const run = await cli(['run', 'examples/patterns/routing.yaml', '--replay', 'examples/recordings/patterns-routing', '--replay-speed', '0', '--run-id', 'r', '--state-dir', stateDir]);
    expect(run.code).toBe(0);
    const text = await cli(['logs', 'r', 'classify', '--state-dir', stateDir]);
    expect(text.stdout).toContain('json:\n  {\n    "kind": "bug",\n    "summary": "Saving settings with an empty display name crashes the settings page",\n    "area": "settings"\n  }\nresult: success, 1 turn,');
    expect(text.stdout).not.toContain('result: success, 1 turn, 5108 tokens, $0.0067, 1.4s\n  {"kind"');
    const entries = await jsonLogs('r', 'classify');
    const kinds = entries.map((e) => e.kind);
    expect(kinds.slice(-3)).toEqual(['json', 'result', 'attempt_end']);
    expect(entries.find((e) => e.kind === 'json')).toMatchObject({ taskId: 'classify', attempt: 1, value: { kind: 'bug', area: 'settings' } });
    // A task without an output_schema has no json entry.
    expect((await jsonLogs('r', 'fix_bug')).some((e) => e.kind === 'json')).toBe(false);
  });

  it("a command's output: json, on the attempt that gave it; a failed attempt (stdout not JSON) shows none", async () => {
    const counter = join(root, 'count');
    const flow = join(root, 'flow.yaml');
    // The first attempt prints text (OUTPUT_SCHEMA, retried), the second JSON.
    const script = `const fs=require('fs');const n=fs.existsSync(process.argv[1])?2:1;fs.writeFileSync(process.argv[1],'x');process.stdout.write(n===1?'not json':JSON.stringify({files:['a.ts','b.ts']}))`;
    writeFileSync(
      flow,
      `id: list-files
tasks:
  - id: files
    retry_count: 2
    retry_delay: 0
    output: json
    command: [node, -e, ${JSON.stringify(script)}, ${JSON.stringify(counter)}]
`,
    );
    const run = await cli(['run', flow, '--run-id', 'c', '--state-dir', stateDir]);
    expect([run.code, run.stderr]).toEqual([0, expect.stringContaining('completed')]);
    const entries = await jsonLogs('c', 'files');
    expect(entries.filter((e) => e.kind === 'json')).toEqual([{ runId: 'c', taskId: 'files', attempt: 2, kind: 'json', value: { files: ['a.ts', 'b.ts'] } }]);
    const text = await cli(['logs', 'c', 'files', '--state-dir', stateDir]);
    expect(text.stdout).toContain('json:\n  {\n    "files": [\n      "a.ts",\n      "b.ts"\n    ]\n  }\n-- attempt 2 succeeded');
    expect(text.stdout.split('== files · attempt 2')[0]).not.toContain('json:');
  });
});
