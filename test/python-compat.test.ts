/**
 * The Python side of the ADW migration (integrations/python): its pytest suite, run with
 * Debian's python3 and python3-pytest (.ci/run installs them where missing). A missing
 * python3 or pytest fails this test: it is never skipped.
 */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The tests in integrations/python/tests, parametrized cases counted. */
const EXPECTED_PASSED = 40;

describe('integrations/python (pytest)', () => {
  it('agents_sdk_compat passes its pytest suite', async () => {
    const run = await execa('python3', ['-m', 'pytest', 'integrations/python/tests', '-q', '-p', 'no:cacheprovider'], {
      cwd: ROOT,
      reject: false,
      env: { PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 200_000,
    });
    const report = `${run.stdout}\n${run.stderr}`;
    // No python3: exitCode undefined; no pytest: exit 1 with "No module named pytest".
    expect(run.exitCode, `${run.shortMessage}\n${report}\n(needs python3 and python3-pytest, see .ci/run)`).toBe(0);
    expect(report).toMatch(new RegExp(`\\b${EXPECTED_PASSED} passed\\b`));
    expect(report).not.toMatch(/\b(failed|error|skipped)\b/);
  }, 240_000);
});
