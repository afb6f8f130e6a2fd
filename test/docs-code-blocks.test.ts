/**
 * Every code block of the README and the guides in docs/ is checked, so the docs cannot drift
 * from the code:
 * - `ts` blocks are type-checked in one `tsc` program against the built package (dist/index.d.ts
 *   as `agents-sdk`, dist/<name>.d.ts as its subpath `agents-sdk/<name>`), each block a module
 *   of its own;
 * - `yaml` blocks that hold a workflow (`tasks:`) go through the real validator, the others and
 *   `json` blocks must parse;
 * - `sh`/`bash` blocks: every `agents-sdk` command in them must exist, with every flag it is
 *   given (checked against that command's `--help`);
 * - `python` blocks must compile.
 * `text` and unlabelled blocks show output or layout and are not code. A block that cannot be
 * checked says so in its fence (```sh no-test: <reason>); this test keeps those few.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWorkflowText, validateWorkflow } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { blocksOf, docFiles, ROOT, type DocBlock } from './helpers/doc-blocks.js';

const blocks = docFiles().flatMap(blocksOf);
const checked = blocks.filter((b) => b.noTest === null);
const of = (...langs: string[]) => checked.filter((b) => langs.includes(b.lang));
const dir = mkdtempSync(join(tmpdir(), 'docs-code-blocks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Names the guides use without repeating the imports or set-up of an earlier block: the package's
 * own exports, and the values a reader has by then (`orchestrator`, `session`, `runId` ...).
 */
const SNIPPET_CONTEXT = `import type * as sdk from 'agents-sdk';
declare global {
  var WorkflowOrchestrator: typeof sdk.WorkflowOrchestrator;
  type WorkflowOrchestrator = sdk.WorkflowOrchestrator;
  var JsonStateBackend: typeof sdk.JsonStateBackend;
  var SqliteStateBackend: typeof sdk.SqliteStateBackend;
  var readRunEventLog: typeof sdk.readRunEventLog;
  var runEventLogPath: typeof sdk.runEventLogPath;
  var readRunEvents: typeof sdk.readRunEvents;
  var orchestrator: sdk.WorkflowOrchestrator;
  var session: sdk.AgentSession;
  var spec: sdk.WorkflowSpecInput;
  var myExecutor: sdk.Executor;
  var runId: string;
  var repo: string;
  function notify(error: unknown): Promise<void>;
  function review(file: string): Promise<void>;
  function save(...values: unknown[]): Promise<void>;
  function render(value: unknown): void;
}
export {};
`;

describe('the code blocks of the README and the guides', () => {
  it('are mostly checked: the few that are not say why', () => {
    const skipped = blocks.filter((b) => b.noTest !== null);
    for (const b of skipped) expect(b.noTest, `${b.where}: no-test needs a reason`).not.toBe('');
    const known = ['ts', 'yaml', 'json', 'sh', 'bash', 'python', 'text', ''];
    for (const b of blocks) expect(known, `${b.where}: a block in an unknown language`).toContain(b.lang);
    const code = blocks.filter((b) => b.lang !== 'text' && b.lang !== '');
    expect(skipped.length).toBeLessThanOrEqual(6);
    expect(code.length - skipped.length).toBeGreaterThanOrEqual(55);
  });

  it('in TypeScript type-check against the package', async () => {
    const ts = of('ts');
    const project = join(dir, 'ts');
    mkdirSync(project);
    symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(project, 'context.d.ts'), SNIPPET_CONTEXT);
    ts.forEach((b, i) => writeFileSync(join(project, `block-${i}.ts`), `${b.code}\nexport {};\n`));
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          types: ['node'],
          paths: { 'agents-sdk': [join(ROOT, 'dist/index.d.ts')], 'agents-sdk/*': [join(ROOT, 'dist/*.d.ts')] },
        },
        include: ['*.ts'],
      }),
    );
    const run = await execa(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: project, reject: false });
    const errors = `${run.stdout}${run.stderr}`
      .split('\n')
      .filter((line) => /error TS/.test(line))
      .map((line) => line.replace(/^block-(\d+)\.ts\((\d+),\d+\)/, (_, i: string, l: string) => `${ts[Number(i)]!.where} +${Number(l) - 1}`));
    expect(errors).toEqual([]);
    expect(ts.length).toBeGreaterThan(20);
  }, 60_000);

  it('in YAML hold workflows the validator accepts (or parse, when they are not workflows)', () => {
    const yamlBlocks = of('yaml');
    let workflows = 0;
    const problems: string[] = [];
    for (const b of yamlBlocks) {
      const value: unknown = parseYaml(b.code, { merge: true });
      expect(value, `${b.where}: parses to nothing`).toBeTruthy();
      if (typeof value !== 'object' || value === null || !('tasks' in value)) continue;
      workflows++;
      try {
        // Parsed as the loader parses a file (YAML merge keys included). A guide's fragment may
        // leave out the workflow's id, and the schema files it names: the test gives it both.
        const parsed = parseWorkflowText(b.code, `${b.where}.yaml`) as Record<string, unknown>;
        const spec = 'id' in parsed ? parsed : { id: 'doc-example', ...parsed };
        const baseDir = mkdtempSync(join(dir, 'workflow-'));
        for (const [, file] of b.code.matchAll(/output_schema: ([\w./-]+\.(?:json|ya?ml))/g)) {
          mkdirSync(dirname(join(baseDir, file!)), { recursive: true });
          writeFileSync(join(baseDir, file!), '{"type": "array"}');
        }
        validateWorkflow(spec, { baseDir });
      } catch (error) {
        problems.push(`${b.where}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
    expect(workflows).toBeGreaterThanOrEqual(10);
    // A JSON block is one value, or JSON lines (a log).
    const parses = (text: string) => {
      try {
        JSON.parse(text);
        return true;
      } catch {
        return false;
      }
    };
    for (const b of of('json')) {
      const ok = parses(b.code) || b.code.trim().split('\n').every(parses);
      expect(ok, `${b.where}: not JSON`).toBe(true);
    }
  });

  it('in Python compile', async () => {
    for (const b of of('python')) {
      const run = await execa('python3', ['-c', 'import sys; compile(sys.stdin.read(), "block", "exec")'], { input: b.code, reject: false });
      expect(run.stderr, b.where).toBe('');
    }
  });

  it('in shell name agents-sdk commands and flags that exist', async () => {
    const helpOf = new Map<string, string>();
    const help = async (command: string[]): Promise<string> => {
      const key = command.join(' ');
      if (!helpOf.has(key)) {
        const run = await cli([...command, '--help']);
        helpOf.set(key, run.code === 0 ? run.stdout : '');
      }
      return helpOf.get(key)!;
    };
    const problems: string[] = [];
    let commands = 0;
    // The Python shim's usage line names its commands (install|uninstall).
    const shim = await execa('python3', [join(ROOT, 'integrations/python/agents_sdk_compat.py')], { reject: false });
    const shimCommands = /usage: .*agents_sdk_compat\.py ([\w|]+)/.exec(shim.stderr)![1]!.split('|');
    for (const b of of('sh', 'bash')) {
      const shimCalls = [...b.code.matchAll(/agents_sdk_compat\.py"? (\S+)/g)].map((m) => m[1]!);
      for (const command of shimCalls) if (!shimCommands.includes(command)) problems.push(`${b.where}: the Python shim has no command ${command}`);
      // Variables a block sets (`export AGENTS_SDK_CLI=...`, `USE_AGENTS_SDK=on uv run ...`) are read by our code.
      const variables = [...b.code.matchAll(/(?:^|\s)([A-Z][A-Z0-9_]{2,})=/gm)].map((m) => m[1]!);
      for (const name of variables) if (!codeText().includes(name)) problems.push(`${b.where}: nothing in src/ or integrations/ reads ${name}`);
      const invocations = agentsSdkInvocations(b);
      if (invocations.length + shimCalls.length + variables.length === 0) problems.push(`${b.where}: nothing to check (mark it no-test, with the reason)`);
      for (const invocation of invocations) {
        commands++;
        const command = await commandOf(invocation.args, help);
        if (command === null) {
          problems.push(`${b.where}: no command "${invocation.args[0]}"`);
          continue;
        }
        const text = await help(command);
        for (const flag of invocation.args.filter((a) => a.startsWith('-') && a !== '-')) {
          const name = flag.replace(/=.*$/, '');
          if (!new RegExp(`(^|[\\s,])${name.replace(/[-]/g, '\\-')}([\\s,=<[]|$)`, 'm').test(text)) {
            problems.push(`${b.where}: agents-sdk ${command.join(' ')} has no option ${name}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(commands).toBeGreaterThanOrEqual(30);
  }, 60_000);
});

let code: string | undefined;
/** The source of src/ and of the Python shim, as one text. */
function codeText(): string {
  code ??= [
    ...readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(ROOT, 'src', f), 'utf8')),
    readFileSync(join(ROOT, 'integrations/python/agents_sdk_compat.py'), 'utf8'),
  ].join('\n');
  return code;
}

/** `agents-sdk ...` commands in a shell block: their arguments, comments and pipes cut off. */
function agentsSdkInvocations(block: DocBlock): { args: string[] }[] {
  const out: { args: string[] }[] = [];
  const script = block.code.replace(/\\\n\s*/g, ' ');
  for (const line of script.split('\n')) {
    const withoutComment = line.replace(/(^|\s)#.*$/, '');
    for (const part of withoutComment.split(/\|\||&&|[|;]/)) {
      const words = part.trim().match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
      const at = words.findIndex((w) => w === 'agents-sdk' || w.endsWith('/agents-sdk') || w.endsWith('dist/cli.js'));
      if (at < 0) continue;
      const args = words.slice(at + 1);
      const end = args.findIndex((w) => /^[<>]|^\d?>/.test(w));
      out.push({ args: end < 0 ? args : args.slice(0, end) });
    }
  }
  return out;
}

/** The (sub)command the arguments name (`['memory', 'set']`), `[]` for the program, null if none. */
async function commandOf(args: string[], help: (command: string[]) => Promise<string>): Promise<string[] | null> {
  const first = args[0];
  if (first === undefined || first.startsWith('-')) return [];
  if ((await help([first])) === '') return null;
  const second = args[1];
  if (second !== undefined && !second.startsWith('-') && (await help([first, second])) !== '' && (await help([first, second])) !== (await help([first]))) {
    return [first, second];
  }
  return [first];
}
