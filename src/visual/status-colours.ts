/**
 * The colour of each task status, shared by the pictures (run report, `agents-sdk diagram`),
 * so a status looks the same everywhere.
 *
 * @module
 */
import type { TaskStatus } from '../workflow/workflow-result.js';

/** Fill, border and text colour of a task box (CSS hex colours). */
export interface StatusColour {
  fill: string;
  stroke: string;
  text: string;
}

/** Every task status's colours. */
export const STATUS_COLOURS: Readonly<Record<TaskStatus, StatusColour>> = {
  pending: { fill: '#ffffff', stroke: '#9ca3af', text: '#374151' },
  waiting: { fill: '#ede9fe', stroke: '#7c3aed', text: '#4c1d95' },
  running: { fill: '#dbeafe', stroke: '#2563eb', text: '#1e3a8a' },
  retrying: { fill: '#fef3c7', stroke: '#d97706', text: '#78350f' },
  completed: { fill: '#dcfce7', stroke: '#16a34a', text: '#14532d' },
  failed: { fill: '#fee2e2', stroke: '#dc2626', text: '#7f1d1d' },
  skipped: { fill: '#f3f4f6', stroke: '#9ca3af', text: '#6b7280' },
  cancelled: { fill: '#e5e7eb', stroke: '#6b7280', text: '#374151' },
};

/** The colours of `status`; unknown statuses look pending. */
export function statusColour(status: string): StatusColour {
  return Object.hasOwn(STATUS_COLOURS, status) ? STATUS_COLOURS[status as TaskStatus] : STATUS_COLOURS.pending;
}
