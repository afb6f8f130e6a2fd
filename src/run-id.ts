/**
 * Run ids: short, URL- and file-safe, lowercase (like the 8-character ids of the system
 * this replaces, a little longer to stay unique across machines).
 *
 * @module
 */
import { customAlphabet } from 'nanoid';

/** Makes a new run id: 12 characters of `[0-9a-z]`. */
export const newRunId: () => string = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 12);
