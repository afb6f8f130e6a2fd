/**
 * `agents-sdk/inspector`: watching and reporting on runs in detail. The inspection forwarder
 * and the local inspector server (also at the root), the run report's parts, diagrams coloured
 * by a run's statuses, a running attempt's live output, and the run's event log file.
 *
 * @packageDocumentation
 */
export {
  createInspector,
  parseInspectTarget,
  DEFAULT_INSPECTOR_PORT,
  type Inspector,
  type InspectorOptions,
  type InspectorStats,
  type InspectTarget,
} from './inspector/inspection-client.js';
export { startInspectorServer, type InspectorServer, type InspectorServerOptions } from './inspector/inspector-server.js';
export type { RunSummary as InspectedRunSummary } from './inspector/run-view.js';
export {
  buildRunReport,
  loadRunReport,
  type AttemptOutcome,
  type BuildRunReportOptions,
  type LoadRunReportOptions,
  type ReportAttempt,
  type ReportError,
  type ReportFailure,
  type ReportTask,
  type RunReport,
} from './report/run-report.js';
export { renderRunReportHtml } from './report/report-html.js';
export {
  workflowDiagram,
  runStatuses,
  DIAGRAM_FORMATS,
  type DiagramFormat,
  type DiagramOptions,
  type DiagramWorkflow,
} from './visual/diagram.js';
export { readLiveAttempt, type LiveAttempt } from './claude/live-attempt.js';
export {
  RunEventLog,
  readRunEventLog,
  runEventLogPath,
  EVENT_LOG_FILE,
  type RecordRef,
  type RunEventLogEntry,
  type RunEventLogContents,
  type RawOutputRef,
} from './persistence/run-event-log.js';
