/**
 * `agents-sdk diagram <workflow> [--run <runId>] [--format mermaid|dot]`: the task graph as
 * Mermaid or Graphviz dot on stdout, coloured by a run's statuses when one is given.
 *
 * @module
 */
import { PermanentError, ValidationError } from '../errors.js';
import { DIAGRAM_FORMATS, runStatuses, workflowDiagram, type DiagramFormat } from '../visual/diagram.js';
import { loadWorkflowFile } from '../workflow/load-workflow.js';
import { EXIT, type CliIO } from './cli-support.js';
import { parseInputs } from './run-command.js';
import { withBackend, type StateOptions } from './state-commands.js';

/** Options of `agents-sdk diagram`. */
export interface DiagramCommandOptions extends StateOptions {
  run?: string;
  format?: string;
  input?: string[];
}

/**
 * Prints the diagram. Inputs change no edge, so a required input may be left out. A bad
 * `--format`, an unknown run, or a run of another workflow is exit 2.
 */
export async function diagramCommand(file: string, options: DiagramCommandOptions, io: CliIO): Promise<number> {
  const format = (options.format ?? 'mermaid') as DiagramFormat;
  if (!DIAGRAM_FORMATS.includes(format)) throw new ValidationError(`--format must be one of ${DIAGRAM_FORMATS.join(', ')}, got "${options.format}"`);
  const workflow = await loadWorkflowFile(file, { inputs: parseInputs(options.input), lintOnly: true });
  let statuses: Record<string, string> | undefined;
  if (options.run !== undefined) {
    const runId = options.run;
    const run = await withBackend(options, 'read', (backend) => backend.loadRun(runId));
    if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}"`, { details: { runId } });
    if (run.workflowId !== workflow.id) {
      throw new ValidationError(`run ${runId} is a run of workflow "${run.workflowId}", not of "${workflow.id}" (${file})`, [], {
        details: { runId, runWorkflowId: run.workflowId, workflowId: workflow.id },
      });
    }
    statuses = runStatuses(run);
  }
  io.stdout(workflowDiagram(workflow, { format, ...(statuses && { statuses }) }));
  return EXIT.ok;
}
