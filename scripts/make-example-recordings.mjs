#!/usr/bin/env node
/**
 * Writes the recordings that `examples/` replays (examples/recordings/<workflow>/<task>/raw_output.jsonl).
 * Lines have the shape of real Claude Code 2.1.197 stream-json output (see test/fixtures/claude-samples);
 * the content is a scripted, plausible session per task. Deterministic: re-running gives the same files.
 *
 *   node scripts/make-example-recordings.mjs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'recordings');

function uuid(seed) {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * One recorded session. `structured`: the task has an `output_schema`; the session ends as the
 * real CLI ends one under `--json-schema`: a StructuredOutput tool call, its "provided
 * successfully" result, and a result line with `structured_output` (its `result` the object as
 * JSON text, `stop_reason: tool_use`), as in test/fixtures/claude-samples/structured-success.jsonl.
 */
function session(workflow, task, { turns, text, durationMs, model = 'claude-sonnet-5', structured }) {
  const sid = uuid(`${workflow}/${task}`);
  if (structured !== undefined) turns = [...turns, ['StructuredOutput', structured, 'Structured output provided successfully']];
  const lines = [
    {
      type: 'system', subtype: 'init', cwd: '/home/user/project', session_id: sid,
      tools: ['Task', 'Bash', 'Edit', 'Read', 'Write', 'WebFetch', ...(structured === undefined ? [] : ['StructuredOutput'])], mcp_servers: [], model,
      permissionMode: 'bypassPermissions', apiKeySource: 'ANTHROPIC_API_KEY', claude_code_version: '2.1.197',
      uuid: uuid(`${workflow}/${task}/init`),
    },
  ];
  let input = 0;
  let output = 0;
  turns.forEach(([tool, toolInput, toolOutput], i) => {
    const id = `toolu_${createHash('md5').update(`${task}${i}`).digest('hex').slice(0, 20)}`;
    input += 1800 + 400 * i;
    output += 60;
    lines.push({
      type: 'assistant',
      message: { id: `msg_${task}_${i}`, type: 'message', role: 'assistant', model, content: [{ type: 'tool_use', id, name: tool, input: toolInput }], stop_reason: null, usage: { input_tokens: 1800 + 400 * i, output_tokens: 60, cache_creation_input_tokens: 0, cache_read_input_tokens: 1200 } },
      parent_tool_use_id: null, session_id: sid, uuid: uuid(`${task}/a${i}`),
    });
    lines.push({
      type: 'user',
      message: { role: 'user', content: [{ tool_use_id: id, type: 'tool_result', content: toolOutput, is_error: false }] },
      parent_tool_use_id: null, session_id: sid, uuid: uuid(`${task}/u${i}`), tool_use_result: { stdout: toolOutput, stderr: '', interrupted: false, isImage: false },
    });
  });
  if (structured === undefined) {
    output += Math.ceil(text.length / 4);
    input += 2400;
    lines.push({
      type: 'assistant',
      message: { id: `msg_${task}_final`, type: 'message', role: 'assistant', model, content: [{ type: 'text', text }], stop_reason: null, usage: { input_tokens: 2400, output_tokens: Math.ceil(text.length / 4), cache_creation_input_tokens: 0, cache_read_input_tokens: 1200 } },
      parent_tool_use_id: null, session_id: sid, uuid: uuid(`${task}/final`),
    });
  } else {
    text = JSON.stringify(structured);
  }
  const cacheRead = 1200 * (turns.length + (structured === undefined ? 1 : 0));
  const cost = Number(((input * 3 + output * 15 + cacheRead * 0.3) / 1e6).toFixed(6));
  lines.push({
    type: 'result', subtype: 'success', is_error: false, api_error_status: null, duration_ms: durationMs,
    duration_api_ms: Math.round(durationMs * 0.8), num_turns: turns.length + (structured === undefined ? 1 : 0), result: text, stop_reason: structured === undefined ? 'end_turn' : 'tool_use',
    session_id: sid, total_cost_usd: cost,
    usage: { input_tokens: input, cache_creation_input_tokens: 2048, cache_read_input_tokens: cacheRead, output_tokens: output },
    permission_denials: [], ...(structured === undefined ? {} : { structured_output: structured }), terminal_reason: 'completed', uuid: uuid(`${task}/result`),
  });
  const dir = join(root, workflow, task);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'raw_output.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

const PLAN = `## Plan: dark mode toggle
1. Add a \`theme\` setting ('light' | 'dark' | 'system') to src/settings.ts, default 'system'.
2. Add ThemeProvider in src/theme.tsx reading the setting and prefers-color-scheme.
3. Add a toggle to src/components/SettingsPanel.tsx.
4. Tests: settings default, provider follows system, toggle persists.`;

for (const wf of ['plan-build', 'sdlc']) {
  session(wf, 'plan', {
    durationMs: 2400,
    turns: [
      ['Bash', { command: 'git ls-files src | head -50', description: 'List source files' }, 'src/settings.ts\nsrc/components/SettingsPanel.tsx\nsrc/app.tsx'],
      ['Read', { file_path: '/home/user/project/src/settings.ts' }, "export interface Settings { locale: string }\nexport const defaults: Settings = { locale: 'en' };"],
    ],
    text: PLAN,
  });
  session(wf, 'build', {
    durationMs: 3600,
    turns: [
      ['Edit', { file_path: '/home/user/project/src/settings.ts', old_string: 'locale: string }', new_string: "locale: string; theme: 'light' | 'dark' | 'system' }" }, 'The file src/settings.ts has been updated.'],
      ['Write', { file_path: '/home/user/project/src/theme.tsx', content: '// ThemeProvider ...' }, 'File created successfully at: src/theme.tsx'],
      ['Edit', { file_path: '/home/user/project/src/components/SettingsPanel.tsx', old_string: '</Panel>', new_string: '<ThemeToggle />\n</Panel>' }, 'The file src/components/SettingsPanel.tsx has been updated.'],
      ['Bash', { command: 'npx tsc --noEmit', description: 'Typecheck' }, ''],
    ],
    text: 'Implemented the plan: theme setting (default system), ThemeProvider in src/theme.tsx, and a toggle in SettingsPanel. Typecheck passes.',
  });
}
session('sdlc', 'test', {
  durationMs: 3000,
  turns: [
    ['Write', { file_path: '/home/user/project/test/theme.test.tsx', content: '// 3 tests' }, 'File created successfully at: test/theme.test.tsx'],
    ['Bash', { command: 'npm test -- theme', description: 'Run the new tests' }, ' ✓ test/theme.test.tsx (3 tests) 41ms\n Test Files  1 passed (1)\n      Tests  3 passed (3)'],
  ],
  text: 'Added 3 tests (settings default, provider follows the system, toggle persists); all pass.',
});
session('sdlc', 'review', {
  durationMs: 2200,
  model: 'claude-opus-4-8',
  turns: [['Bash', { command: 'git diff --stat', description: 'Review the change' }, ' src/settings.ts | 2 +-\n src/theme.tsx | 48 ++++\n 2 files changed']],
  text: 'Review: approve. One nit: ThemeProvider should clean up its matchMedia listener on unmount (src/theme.tsx:31).',
});
session('sdlc', 'document', {
  durationMs: 1500,
  model: 'claude-haiku-4-5-20251001',
  turns: [['Edit', { file_path: '/home/user/project/README.md', old_string: '## Settings', new_string: '## Settings\n\n- `theme`: light, dark or system (default).' }, 'The file README.md has been updated.']],
  text: 'Documented the theme setting in README.md (Settings section).',
});
// examples/patterns/routing.yaml: the classifier answers through StructuredOutput (kind: bug),
// so the bug branch runs and the join replies; the other branches are skipped by their `when`.
session('patterns-routing', 'classify', {
  durationMs: 1400,
  model: 'claude-haiku-4-5-20251001',
  turns: [],
  text: '',
  structured: { kind: 'bug', summary: 'Saving settings with an empty display name crashes the settings page', area: 'settings' },
});
session('patterns-routing', 'fix_bug', {
  durationMs: 3200,
  turns: [
    ['Read', { file_path: '/home/user/project/src/components/SettingsPanel.tsx' }, 'const initials = settings.displayName.split(" ").map((w) => w[0].toUpperCase());'],
    ['Edit', { file_path: '/home/user/project/src/components/SettingsPanel.tsx', old_string: 'map((w) => w[0].toUpperCase())', new_string: 'filter(Boolean).map((w) => w[0].toUpperCase())' }, 'The file src/components/SettingsPanel.tsx has been updated.'],
    ['Bash', { command: 'npm test -- settings', description: 'Run the settings tests' }, ' ✓ test/settings.test.tsx (5 tests) 38ms\n Test Files  1 passed (1)'],
  ],
  text: 'Fixed: SettingsPanel computed initials from an empty display name (w[0] of ""); empty words are now skipped. Added a test for an empty name; settings tests pass.',
});
session('patterns-routing', 'reply', {
  durationMs: 1100,
  model: 'claude-haiku-4-5-20251001',
  turns: [],
  text: 'Thanks for the report! This was a bug: the settings page crashed when the display name was empty. It is fixed (empty names are handled) and covered by a new test; the fix ships in the next release.',
});
// examples/patterns/orchestrator-workers.yaml: the planner answers through StructuredOutput with
// three subtasks; one implementer per subtask (impl[0], impl[1], impl[2]: a fan-out instance's
// recording is under its id), then the integrator.
const SUBTASKS = [
  { title: 'Add a theme setting (light, dark, system)', files: ['src/settings.ts'] },
  { title: 'Add a ThemeProvider following the setting', files: ['src/theme.tsx'] },
  { title: 'Add a theme toggle to the settings panel', files: ['src/components/SettingsPanel.tsx'] },
];
session('patterns-orchestrator-workers', 'plan', {
  durationMs: 2100,
  turns: [['Bash', { command: 'git ls-files src | head -50', description: 'List source files' }, 'src/settings.ts\nsrc/components/SettingsPanel.tsx\nsrc/app.tsx']],
  text: '',
  structured: { subtasks: SUBTASKS },
});
SUBTASKS.forEach((subtask, i) => {
  session('patterns-orchestrator-workers', `impl[${i}]`, {
    durationMs: 2500 + 300 * i,
    turns: [['Edit', { file_path: `/home/user/project/${subtask.files[0]}`, old_string: '// end', new_string: '// theme\n// end' }, `The file ${subtask.files[0]} has been updated.`]],
    text: `Done: ${subtask.title} (${subtask.files[0]}).`,
  });
});
session('patterns-orchestrator-workers', 'integrate', {
  durationMs: 1900,
  turns: [['Bash', { command: 'npm test', description: 'Run the tests' }, ' Test Files  12 passed (12)\n      Tests  87 passed (87)']],
  text: 'Dark mode is in: a theme setting (default system), a ThemeProvider that follows it, and a toggle in the settings panel. The three parts fit together; all 87 tests pass.',
});
// examples/patterns/evaluator-optimizer.yaml: the reviewer rejects the first draft (jargon, no
// mention of the fix) and approves the second, which addressed its feedback; iteration k's
// recordings are under its tasks' ids (refine#1.write, refine#1.review, ...).
const DRAFTS = [
  'Version 2.0: adds a ThemeProvider with prefers-color-scheme support and a theme setting; cold start is 40% faster thanks to lazy module loading.',
  'Version 2.0 is here. Dark mode: pick light, dark or follow your system in Settings. The app now starts 40% faster. Fixed: the settings page no longer crashes when your display name is empty.',
];
const VERDICTS = [
  { approved: false, feedback: 'Too technical for end users (ThemeProvider, prefers-color-scheme, lazy module loading); say where to find the dark mode toggle, and mention the settings crash fix.' },
  { approved: true, feedback: 'Clear and accurate; all three changes are there.' },
];
DRAFTS.forEach((draft, k) => {
  session('patterns-evaluator-optimizer', `refine#${k + 1}.write`, { durationMs: 1800 + 200 * k, turns: [], text: draft });
  session('patterns-evaluator-optimizer', `refine#${k + 1}.review`, { durationMs: 1200, model: 'claude-haiku-4-5-20251001', turns: [], text: '', structured: VERDICTS[k] });
});
session('patterns-evaluator-optimizer', 'publish', {
  durationMs: 1500,
  model: 'claude-haiku-4-5-20251001',
  turns: [['Bash', { command: 'gh release create v2.0 --title "Version 2.0" --notes-file notes.md', description: 'Create the GitHub release' }, 'https://github.com/example/app/releases/tag/v2.0']],
  text: 'Published the v2.0 release: https://github.com/example/app/releases/tag/v2.0',
});
// examples/adw/sdlc-loops.yaml: the first test run fails (one test), the resolver fixes it, the
// second passes; the first review finds an issue, the patcher fixes it, the second approves.
const SPEC = 'specs/issue-42-adw-a1b2c3d4-sdlc_planner-add-dark-mode-toggle.md';
const ADW = 'adw-sdlc-loops';
session(ADW, 'plan', {
  durationMs: 2400,
  model: 'claude-opus-4-8',
  turns: [['Write', { file_path: `/home/user/project/${SPEC}`, content: PLAN }, `File created successfully at: ${SPEC}`]],
  text: SPEC,
});
session(ADW, 'build', {
  durationMs: 3600,
  model: 'claude-opus-4-8',
  turns: [
    ['Edit', { file_path: '/home/user/project/src/settings.ts', old_string: 'locale: string }', new_string: "locale: string; theme: 'light' | 'dark' | 'system' }" }, 'The file src/settings.ts has been updated.'],
    ['Write', { file_path: '/home/user/project/src/theme.tsx', content: '// ThemeProvider ...' }, 'File created successfully at: src/theme.tsx'],
  ],
  text: `Implemented ${SPEC}: theme setting, ThemeProvider, settings toggle.`,
});
const FAILURE = 'test/theme.test.tsx > ThemeProvider follows the system: expected "light" to be "dark"';
session(ADW, 'test_loop#1.test', {
  durationMs: 2000,
  turns: [['Bash', { command: 'npm test', description: 'Run the tests' }, ` FAIL  ${FAILURE}\n Tests  1 failed | 86 passed (87)`]],
  text: '',
  structured: { passed: false, failures: [FAILURE] },
});
session(ADW, 'test_loop#1.resolve', {
  durationMs: 2600,
  turns: [
    ['Edit', { file_path: '/home/user/project/src/theme.tsx', old_string: "matchMedia('(prefers-color-scheme: light)')", new_string: "matchMedia('(prefers-color-scheme: dark)')" }, 'The file src/theme.tsx has been updated.'],
    ['Bash', { command: 'npm test -- theme', description: 'Run the theme tests' }, ' ✓ test/theme.test.tsx (3 tests)'],
  ],
  text: 'Resolved: ThemeProvider queried prefers-color-scheme: light instead of dark; the theme tests pass.',
});
session(ADW, 'test_loop#2.test', {
  durationMs: 2000,
  turns: [['Bash', { command: 'npm test', description: 'Run the tests' }, ' Test Files  12 passed (12)\n      Tests  87 passed (87)']],
  text: '',
  structured: { passed: true, failures: [] },
});
const ISSUE = 'src/theme.tsx:31: the matchMedia listener is never removed on unmount';
session(ADW, 'review_loop#1.review', {
  durationMs: 2200,
  model: 'claude-opus-4-8',
  turns: [['Bash', { command: 'git diff --stat', description: 'Review the change' }, ' src/settings.ts | 2 +-\n src/theme.tsx | 48 ++++']],
  text: '',
  structured: { approved: false, issues: [ISSUE] },
});
session(ADW, 'review_loop#1.patch', {
  durationMs: 1800,
  turns: [['Edit', { file_path: '/home/user/project/src/theme.tsx', old_string: 'useEffect(() => { mq.addEventListener', new_string: 'useEffect(() => { mq.addEventListener("change", on); return () => mq.removeEventListener' }, 'The file src/theme.tsx has been updated.']],
  text: 'Patched: ThemeProvider removes its matchMedia listener on unmount.',
});
session(ADW, 'review_loop#2.review', {
  durationMs: 2000,
  model: 'claude-opus-4-8',
  turns: [],
  text: '',
  structured: { approved: true, issues: [] },
});
session(ADW, 'document', {
  durationMs: 1500,
  turns: [['Write', { file_path: '/home/user/project/app_docs/feature-a1b2c3d4-dark-mode.md', content: '# Dark mode ...' }, 'File created successfully at: app_docs/feature-a1b2c3d4-dark-mode.md']],
  text: 'app_docs/feature-a1b2c3d4-dark-mode.md',
});
console.log(`recordings written under ${root}`);
