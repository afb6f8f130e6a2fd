/**
 * Configuration without flags: AGENTS_SDK_STATE_DIR / AGENTS_SDK_BACKEND /
 * AGENTS_SDK_MAX_PARALLEL and an agents-sdk.config.{json,yaml} found upward from the working
 * directory; a flag wins over the environment, the environment over the file; a bad file is an
 * error naming the file and the field; a SQLite state dir read as JSON says so.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, cliProcess } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

function writeSpec(): string {
  const file = join(world.root, 'wf.json');
  writeFileSync(file, JSON.stringify({ id: 'configured', tasks: [{ id: 'hello', command: ['node', '-e', "process.stdout.write('hi')"] }] }));
  return file;
}

const runIds = (stdout: string) => (JSON.parse(stdout) as Array<{ runId: string }>).map((r) => r.runId);

describe('configuration from the environment', () => {
  it('AGENTS_SDK_STATE_DIR and AGENTS_SDK_BACKEND stand for --state-dir and --backend; a flag wins', async () => {
    const dir = join(world.root, 'env-state');
    const env = { AGENTS_SDK_STATE_DIR: dir, AGENTS_SDK_BACKEND: 'sqlite' };
    const run = await cli(['run', writeSpec(), '--run-id', 'fromenv'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(dir, 'agents.sqlite'))).toBe(true);
    expect(runIds((await cli(['list', '--json'], env)).stdout)).toEqual(['fromenv']);
    expect((await cli(['status', 'fromenv'], env)).stdout).toMatch(/^run fromenv of workflow configured: completed/);

    // --backend json wins over the variable: the same directory, read as JSON, says where the runs are.
    const asJson = await cli(['list', '--backend', 'json'], env);
    expect(asJson.code).toBe(0);
    expect(asJson.stdout).toBe('no runs\n');
    expect(asJson.stderr).toBe(
      `note: ${dir} holds agents.sqlite, a SQLite state database, but was read with the JSON backend: read its runs with --backend sqlite (or AGENTS_SDK_BACKEND=sqlite, or "backend": "sqlite" in agents-sdk.config.json)\n`,
    );
    const status = await cli(['status', 'fromenv', '--backend', 'json'], env);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('NOT_FOUND: Unknown run id "fromenv"; ');
    expect(status.stderr).toContain('read its runs with --backend sqlite');
    for (const command of [['events', 'fromenv'], ['cancel', 'fromenv']]) {
      const read = await cli([...command, '--backend', 'json'], env);
      expect(read.code, command[0]).toBe(2);
      expect(read.stderr, command[0]).toContain('read its runs with --backend sqlite');
    }
    // --state-dir wins too.
    expect((await cli(['list', '--state-dir', world.stateDir], env)).stdout).toBe('no runs\n');
  });

  it('AGENTS_SDK_MAX_PARALLEL stands for --max-parallel; bad values are named', async () => {
    const shown = await cli(['validate', writeSpec(), '--json'], { AGENTS_SDK_MAX_PARALLEL: '3' });
    expect(JSON.parse(shown.stdout)).toMatchObject({ valid: true, maxParallel: 3 });
    const badBackend = await cli(['list'], { AGENTS_SDK_BACKEND: 'mysql' });
    expect(badBackend.code).toBe(2);
    expect(badBackend.stderr).toContain('AGENTS_SDK_BACKEND must be json or sqlite, got "mysql"');
    const badParallel = await cli(['validate', writeSpec()], { AGENTS_SDK_MAX_PARALLEL: 'many' });
    expect(badParallel.code).toBe(2);
    expect(badParallel.stderr).toContain('AGENTS_SDK_MAX_PARALLEL must be an integer >= 1, got "many"');
  });
});

describe('agents-sdk.config.{json,yaml}', () => {
  it('is found upward from the working directory; its stateDir is relative to the file; the environment wins over it', async () => {
    writeFileSync(join(world.root, 'agents-sdk.config.yaml'), 'stateDir: shared-state\nbackend: sqlite\nmaxParallel: 2\n');
    const deep = join(world.root, 'project', 'sub');
    mkdirSync(deep, { recursive: true });
    const run = await cliProcess(['run', writeSpec(), '--run-id', 'fromfile', '--json'], { cwd: deep });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(existsSync(join(world.root, 'shared-state', 'agents.sqlite'))).toBe(true);
    const listed = await cliProcess(['list', '--json'], { cwd: deep });
    expect(runIds(String(listed.stdout))).toEqual(['fromfile']);
    const validated = await cliProcess(['validate', writeSpec(), '--json'], { cwd: deep });
    expect(JSON.parse(String(validated.stdout))).toMatchObject({ maxParallel: 2 });

    // The variable wins over the file, the flag over both.
    const envWins = await cliProcess(['list', '--json'], { cwd: deep, env: { AGENTS_SDK_BACKEND: 'json' } });
    expect(runIds(String(envWins.stdout))).toEqual([]);
    expect(String(envWins.stderr)).toContain('holds agents.sqlite, a SQLite state database, but was read with the JSON backend');
    const flagWins = await cliProcess(['validate', writeSpec(), '--json', '--max-parallel', '5'], { cwd: deep });
    expect(JSON.parse(String(flagWins.stdout))).toMatchObject({ maxParallel: 5 });
  }, 60_000);

  it('a bad file is an error naming the file and the field', async () => {
    const file = join(world.root, 'agents-sdk.config.json');
    const cases: Array<[string, string]> = [
      ['{"backend": "mysql"}', `${file}: field "backend" must be json or sqlite, got "mysql"`],
      ['{"stateDIr": "x"}', `${file}: unknown field "stateDIr" (did you mean "stateDir"?); the fields are stateDir, backend, maxParallel`],
      ['{"maxParallel": 0}', `${file}: field "maxParallel" must be an integer >= 1, got 0`],
      ['{"stateDir": ', `${file}: not valid JSON`],
      ['["sqlite"]', `${file}: must hold an object of settings (stateDir, backend, maxParallel), got a list`],
    ];
    for (const [text, message] of cases) {
      writeFileSync(file, text);
      const listed = await cli(['list'], { AGENTS_SDK_CONFIG: file });
      expect(listed.code, text).toBe(2);
      expect(listed.stderr, text).toContain(message);
    }
    // Flags for everything the file could set: it is not read.
    const flagged = await cli(['list', '--state-dir', world.stateDir, '--backend', 'json'], { AGENTS_SDK_CONFIG: file });
    expect(flagged.code).toBe(0);
    const missing = await cli(['list'], { AGENTS_SDK_CONFIG: join(world.root, 'nope.yaml') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`AGENTS_SDK_CONFIG names ${join(world.root, 'nope.yaml')}, which does not exist`);
    // Two files in one directory: which one counts is not guessed.
    writeFileSync(join(world.root, 'agents-sdk.config.yaml'), 'backend: json\n');
    const two = await cliProcess(['list', '--state-dir', world.stateDir], { cwd: world.root });
    expect(two.exitCode).toBe(2);
    expect(String(two.stderr)).toContain(`${world.root} holds 2 agents-sdk configuration files (agents-sdk.config.json, agents-sdk.config.yaml): keep one`);
  }, 60_000);
});
