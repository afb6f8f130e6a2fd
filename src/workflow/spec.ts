/**
 * The workflow spec: what users write (YAML, JSON or a TS object), as a zod schema.
 * Field names are snake_case, as in the files.
 *
 * @module
 */
import { z } from 'zod';

const taskId = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must start with a letter or digit and use only letters, digits, _ . -');

const env = z.record(z.string(), z.string());

/** Longest task `timeout`, in seconds (7 days). */
export const MAX_TIMEOUT_S = 7 * 24 * 3600;

/** Names of workflow inputs (`{{inputs.<name>}}`). */
export const INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The `inputs` block: names with their defaults; `null` means required. */
export const workflowInputsSchema = z.record(z.string().regex(INPUT_NAME), z.union([z.string(), z.number(), z.boolean(), z.null()]));

/** What to do with a task that was running when the process died (see resume). */
export const resumeInterruptedSchema = z.enum(['restart', 'continue']);

const common = {
  id: taskId,
  depends_on: z.array(taskId).default([]),
  /** Attempts in all, the first included. */
  retry_count: z.number().int().min(1).max(100).default(3),
  /** Seconds (at most 7 days: a value in milliseconds by mistake is caught). */
  timeout: z.number().positive().max(MAX_TIMEOUT_S, `must be at most ${MAX_TIMEOUT_S} (7 days); the unit is seconds`).optional(),
  /** Expected duration in seconds: weights the critical path the ready queue orders by (default: earlier runs' median). */
  estimate: z.number().positive().max(MAX_TIMEOUT_S, `must be at most ${MAX_TIMEOUT_S} (7 days); the unit is seconds`).optional(),
  cwd: z.string().min(1).optional(),
  env: env.optional(),
  resume_interrupted: resumeInterruptedSchema.optional(),
};

/** A task run by a Claude Code agent. */
export const agentTaskSchema = z.strictObject({
  ...common,
  /** Optional discriminator; a task with a `prompt` is an agent task. */
  kind: z.literal('agent').optional(),
  prompt: z.string().refine((s) => s.trim().length > 0, 'must not be empty'),
  agent: z.string().min(1).optional(),
  model: z.string().min(1).default('sonnet'),
  max_turns: z.number().int().positive().optional(),
  allowed_tools: z.array(z.string().min(1)).optional(),
  append_system_prompt: z.string().optional(),
  dangerously_skip_permissions: z.boolean().optional(),
});

/** A task that runs a command (no shell): success is exit code 0, output is stdout. */
export const commandTaskSchema = z.strictObject({
  ...common,
  kind: z.literal('command').optional(),
  command: z.array(z.string()).min(1, 'must name a program'),
});

/** The whole workflow. */
export const workflowSpecSchema = z.strictObject({
  id: taskId,
  description: z.string().optional(),
  tasks: z.array(z.unknown()).min(1, 'a workflow needs at least one task'),
  max_parallel: z.number().int().min(1).max(1000).default(5),
  on_failure: z.enum(['stop', 'continue']).default('stop'),
  budget_usd: z.number().positive().optional(),
  /** Input names with their defaults; `null` means required. */
  inputs: workflowInputsSchema.optional(),
  resume_interrupted: resumeInterruptedSchema.optional(),
});

/** An agent task after validation (defaults filled in). */
export type AgentTask = z.output<typeof agentTaskSchema> & { kind: 'agent' };
/** A command task after validation. */
export type CommandTask = z.output<typeof commandTaskSchema> & { kind: 'command' };
/** A task after validation. */
export type Task = AgentTask | CommandTask;

/** A workflow as written: what `validateWorkflow` accepts. */
export type WorkflowSpecInput = z.input<typeof workflowSpecSchema> & { tasks: Array<Record<string, unknown>> };

/** A validated workflow: defaults filled in, tasks typed, inputs resolved. Plain JSON. */
export interface Workflow {
  id: string;
  description?: string;
  tasks: Task[];
  max_parallel: number;
  on_failure: 'stop' | 'continue';
  budget_usd?: number;
  /** Every input with its value (defaults overridden by the given inputs). */
  inputs: Record<string, string>;
  resume_interrupted?: 'restart' | 'continue';
}
