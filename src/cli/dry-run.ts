/**
 * The text `run --dry-run` prints: the waves in which tasks would start, then each task's
 * settings and its prompt or command as it would be sent. (`--json` prints the
 * {@link WorkflowPlan} itself.)
 *
 * @module
 */
import type { PlannedTask, WorkflowPlan } from '../workflow/plan-workflow.js';
import { count } from '../wording.js';

/** Renders a plan as plain text (no colours), ending with a newline. */
export function formatWorkflowPlan(plan: WorkflowPlan): string {
  const n = plan.tasks.length;
  const lines = [
    `Dry run of ${plan.workflowId}: ${n} task${n === 1 ? '' : 's'} in ${plan.waves.length} wave${plan.waves.length === 1 ? '' : 's'}, ` +
      `at most ${plan.maxParallel} at once. Nothing was started.`,
  ];
  if (plan.description) lines.push(plan.description);
  lines.push('', plan.unitEstimates ? 'Start order (if every task took the same time):' : 'Start order (by the given estimates):');
  const width = String(plan.waves.length).length;
  const fanouts = new Set(plan.tasks.filter((t) => t.forEach !== undefined).map((t) => t.id));
  const loops = new Map(plan.tasks.filter((t) => t.repeat !== undefined).map((t) => [t.id, t.repeat!.max]));
  for (const wave of plan.waves) {
    const at = plan.unitEstimates ? '' : ` (at ${wave.start})`;
    // A fan-out's count is known only once its list is evaluated: `× n`.
    const ids = wave.taskIds.map((id) => (fanouts.has(id) ? `${id} × n` : loops.has(id) ? `${id} (repeat ≤ ${loops.get(id)})` : id));
    lines.push(`  wave ${String(wave.wave).padStart(width)}${at}: ${ids.join(', ')}`);
  }
  for (const task of plan.tasks) lines.push('', ...taskLines(task));
  return `${lines.join('\n')}\n`;
}

function taskLines(task: PlannedTask): string[] {
  const facts: string[] = task.kind === 'agent' ? [`agent ${task.agent}`, `model ${task.model}`] : task.kind === 'group' ? [`group of ${task.children!.join(', ')}`] : ['command'];
  if (task.dependsOn.length > 0) facts.push(`after ${task.dependsOn.join(', ')}`);
  if (task.cwd !== undefined) facts.push(`in ${task.cwd}`);
  if (task.timeout !== undefined) facts.push(`timeout ${task.timeout} s`);
  facts.push(`${task.retryCount} attempt${task.retryCount === 1 ? '' : 's'}`);
  if (task.retryDelay !== undefined && task.retryCount > 1) facts.push(`first retry within ${task.retryDelay} s`);
  if (task.maxTurns !== undefined) facts.push(`max ${count(task.maxTurns, 'turn')}`);
  if (task.allowedTools !== undefined) facts.push(`tools ${task.allowedTools.join(' ') || '(none)'}`);
  if (task.dangerouslySkipPermissions) facts.push('permissions skipped');
  if (task.apiRetries !== undefined) facts.push(`${count(task.apiRetries, 'API retry', 'API retries')} by Claude Code`);
  if (task.allowFailure) facts.push('may fail (allow_failure)');
  const lines = [`${task.id} (${facts.join(', ')})`];
  if (task.when !== undefined) lines.push(`  only when: ${task.when.replace(/\s*\n\s*/g, ' ')}`);
  if (task.forEach !== undefined) {
    const cap = task.forEach.maxParallel === undefined ? '' : `, ${task.forEach.maxParallel} at once`;
    lines.push(`  for each item of: ${task.forEach.expression.replace(/\s*\n\s*/g, ' ')} (× n: one instance ${task.id}[<index>] per item, at most ${task.forEach.maxItems}${cap})`);
  }
  if (task.repeat !== undefined) {
    const id = task.kind === 'group' ? `${task.id}#<k>.<task>` : `${task.id}#<k>`;
    lines.push(`  repeat ≤ ${task.repeat.max}: until ${task.repeat.until.replace(/\s*\n\s*/g, ' ')} (iterations ${id} from 1; then ${task.repeat.onExhausted === 'continue' ? 'it completes, exhausted' : 'it fails'})`);
  }
  if (task.env !== undefined && Object.keys(task.env).length > 0) {
    lines.push(`  env: ${Object.entries(task.env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')}`);
  }
  if (task.appendSystemPrompt !== undefined) lines.push('  appended to the system prompt:', ...quoted(task.appendSystemPrompt));
  if (task.command !== undefined) lines.push(`  $ ${task.command.map(shellQuote).join(' ')}`);
  if (task.prompt !== undefined) lines.push('  prompt:', ...quoted(task.prompt));
  if (task.outputSchema !== undefined) lines.push(`  output: JSON${Object.keys(task.outputSchema).length > 0 ? ` matching ${JSON.stringify(task.outputSchema)}` : ''}`);
  return lines;
}

/** A text, indented and marked so that its blank lines and its end are visible. */
function quoted(text: string): string[] {
  return text.replace(/\n$/, '').split('\n').map((line) => `  | ${line}`.trimEnd());
}

/** Quotes an argument the way a POSIX shell would need it, to show a command unambiguously. */
function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
