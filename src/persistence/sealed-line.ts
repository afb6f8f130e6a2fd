/**
 * Checksummed JSON lines: a JSON object with a CRC-32 of its own text as its last field,
 * `{..., "crc":"1a2b3c4d"}`, so that an edit that keeps the line valid JSON (bit-rot in a digit
 * or a letter) is found on read. Used for the JSON backend's journal lines and its extent.
 *
 * The checksum is of the exact bytes of the object without the field (no re-serialization on
 * read), so it checks what was written, not what a parser makes of it.
 *
 * @module
 */
import { crc32 } from 'node:zlib';

/** The field that carries the checksum. */
export const CRC_FIELD = 'crc';

/** How a sealed line ends: `,"crc":"<8 hex digits>"}` (only the tail is looked at: lines may be megabytes). */
const SEAL = /(,?)"crc":"([0-9a-f]{8})"\}$/;
const SEAL_TAIL = 18;

/** `json` (the text of a JSON object) with the CRC-32 of that text as its last field. */
export function sealLine(json: string): string {
  const sum = crc32(json).toString(16).padStart(8, '0');
  const open = json.slice(0, -1);
  return `${open}${open === '{' ? '' : ','}"${CRC_FIELD}":"${sum}"}`;
}

/** What {@link unsealLine} found. */
export type UnsealedLine =
  /** The line carries a checksum and it matches: `json` is the object as first written. */
  | { kind: 'sealed'; json: string }
  /** The line carries a checksum that does not match its text: damage. */
  | { kind: 'mismatch' }
  /** No checksum: a line written before checksums (or one whose checksum field was damaged). */
  | { kind: 'plain'; json: string };

/** Checks the checksum of a line written by {@link sealLine}. */
export function unsealLine(line: string): UnsealedLine {
  const start = Math.max(0, line.length - SEAL_TAIL);
  const match = SEAL.exec(line.slice(start));
  if (!match) return { kind: 'plain', json: line };
  const json = line.slice(0, start + match.index) + '}';
  const expected = crc32(json).toString(16).padStart(8, '0');
  return expected === match[2] ? { kind: 'sealed', json } : { kind: 'mismatch' };
}
