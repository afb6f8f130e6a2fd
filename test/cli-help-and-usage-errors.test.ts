import { describe, expect, it } from 'vitest';
import { cli, cliProcess } from './helpers/cli.js';

describe('agents-sdk help, version and usage errors', () => {
  it('--help lists every command; with no command at all it is a usage error (exit 2)', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['run [options] <workflow>', 'validate', 'resume', 'list', 'status', 'migrate', 'exec [options] [prompt...]']) {
      expect(help.stdout).toContain(command);
    }
    expect(help.stdout).toContain('Exit codes: 0 success, 1 failed');
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: agents-sdk');
    const version = await cli(['--version']);
    expect([version.code, version.stdout.trim()]).toEqual([0, expect.stringMatching(/^\d+\.\d+\.\d+$/)]);
  });

  it('each command has its own --help, which exits 0 with that command\'s options', async () => {
    const run = await cli(['run', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: agents-sdk run [options] <workflow>');
    for (const option of ['--input <key=value>', '--max-parallel <n>', '--replay <dir>', '--replay-speed <x>', '--run-id <id>', '--json', '--state-dir <dir>', '--backend <kind>']) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stdout).not.toContain('--prompt-file');
    const exec = await cli(['help', 'exec']);
    expect(exec.code).toBe(0);
    expect(exec.stdout).toContain('Usage: agents-sdk exec [options] [prompt...]');
    expect(exec.stdout).toContain('--prompt-file <file>');
    expect((await cli(['validate', '--help'])).stdout).toContain('--no-inputs');
  });

  it('an unknown command or option is exit 2, printed once, with a suggestion when one is close', async () => {
    const typo = await cli(['stauts', 'r1']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe("agents-sdk: unknown command 'stauts'\n(Did you mean one of stats, status?)\n(agents-sdk --help lists the commands)\n");
    const unknown = await cli(['frobnicate']);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining("unknown command 'frobnicate'")]);
    const option = await cli(['exec', 'hi', '--jsn']);
    expect(option.code).toBe(2);
    expect(option.stderr).toBe("agents-sdk: unknown option '--jsn'\n(Did you mean --json?)\n(agents-sdk exec --help lists its options)\n");
    expect(option.stdout).toBe('');
  });

  it('a missing or extra argument, or a bad option value, is exit 2 naming it', async () => {
    const missing = await cli(['run']);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining("missing required argument 'workflow'")]);
    const extra = await cli(['status', 'a', 'b']);
    expect([extra.code, extra.stderr]).toEqual([2, expect.stringContaining("too many arguments for 'status'")]);
    const noValue = await cli(['run', 'w.yaml', '--run-id']);
    expect([noValue.code, noValue.stderr]).toEqual([2, expect.stringContaining("option '--run-id <id>' argument missing")]);
    const badNumber = await cli(['exec', 'hi', '--retries', 'many']);
    expect([badNumber.code, badNumber.stderr]).toEqual([2, 'agents-sdk: --retries must be an integer >= 1, got "many"\n']);
  });

  it('the built bin parses the same way (commander never exits the process early)', async () => {
    const help = await cliProcess(['status', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Usage: agents-sdk status [options] <run-id>');
    const typo = await cliProcess(['lst']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('(Did you mean list?)');
  }, 90_000);
});
