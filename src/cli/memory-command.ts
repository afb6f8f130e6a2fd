/**
 * `agents-sdk memory list|get|set|search|delete|clear-expired`: the memory store of a state
 * directory (`--backend json`: `<state-dir>/memory/`, `sqlite`: `<state-dir>/memory.sqlite`).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { ValidationError } from '../errors.js';
import type { JsonValue, MemoryBackend, MemoryEntry, SearchResult } from '../memory/memory-backend.js';
import { MEMORY_SQLITE_FILE, openMemoryBackend } from '../memory/open-memory-backend.js';
import { EXIT, intOption, type CliIO } from './cli-support.js';

/** Options every `memory` subcommand takes. */
export interface MemoryCommandOptions {
  stateDir?: string;
  /** `json` (default) or `sqlite`. */
  backend?: string;
  json?: boolean;
}

interface FilterOptions extends MemoryCommandOptions {
  prefix?: string;
  limit?: string;
}

interface SetOptions extends MemoryCommandOptions {
  ttl?: string;
}

/** Longest value shown on one line of `list` and `search`. */
const PREVIEW_CHARS = 80;

/** Declares `memory` and its subcommands on the program; each reports its exit code through `setExit`. */
export function registerMemoryCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const memory = program
    .command('memory')
    .description("the agents' memory store: skills, cached analyses, remembered outputs (list, get, set, search, delete, clear-expired)");
  memory.showHelpAfterError('(agents-sdk memory --help lists its commands)');
  const sub = (nameAndArgs: string, description: string): Command => {
    const command = memory.command(nameAndArgs).description(description);
    return command
      .showHelpAfterError(`(agents-sdk memory ${command.name()} --help lists its options)`)
      .option('--state-dir <dir>', 'state directory (default: agents)')
      .option('--backend <kind>', 'json (<state-dir>/memory/) or sqlite (<state-dir>/memory.sqlite) (default: json)')
      .option('--json', 'print JSON');
  };
  const run = <A extends unknown[]>(work: (...args: A) => Promise<number>) => async (...args: A) => setExit(await work(...args));

  sub('list', 'list the unexpired entries in key order')
    .option('--prefix <prefix>', 'only keys starting with this (e.g. skill:)')
    .option('--limit <n>', 'at most this many')
    .action(run((options: FilterOptions) => memoryList(options, io)));
  sub('get', 'print the value under a key (a string as it is, anything else as JSON); exit 1 when there is none')
    .argument('<key>', 'the key')
    .action(run((key: string, options: MemoryCommandOptions) => memoryGet(key, options, io)));
  sub('set', 'store a value: JSON when it parses as JSON (42, true, {"a":1}, "quoted"), else the text as a string')
    .argument('<key>', 'the key')
    .argument('<value>', 'the value')
    .option('--ttl <seconds>', 'forget it after this many seconds (default: never)')
    .action(run((key: string, value: string, options: SetOptions) => memorySet(key, value, options, io)));
  sub('search', 'ranked full-text search over keys and values, best first')
    .argument('<query>', 'the words to look for')
    .option('--prefix <prefix>', 'only keys starting with this (e.g. skill:)')
    .option('--limit <n>', 'at most this many (default: 10)')
    .action(run((query: string, options: FilterOptions) => memorySearch(query, options, io)));
  sub('delete', 'delete the entry under a key; exit 1 when there is none')
    .argument('<key>', 'the key')
    .action(run((key: string, options: MemoryCommandOptions) => memoryDelete(key, options, io)));
  sub('clear-expired', 'remove the entries past their TTL (they are never returned anyway); print how many')
    .action(run((options: MemoryCommandOptions) => memoryClearExpired(options, io)));
}

/** `agents-sdk memory list`. */
export async function memoryList(options: FilterOptions, io: CliIO): Promise<number> {
  const limit = intOption('limit', options.limit);
  const entries = await withMemory(options, 'read', (memory) => memory.list({ ...(options.prefix !== undefined && { prefix: options.prefix }), ...(limit !== undefined && { limit }) }));
  if (options.json) io.stdout(`${JSON.stringify(entries, null, 2)}\n`);
  else if (entries.length === 0) io.stdout('no memories\n');
  else io.stdout(table(entries.map((e) => [e.key, preview(e.value), expiry(e)])));
  return EXIT.ok;
}

/** `agents-sdk memory get <key>`. */
export async function memoryGet(key: string, options: MemoryCommandOptions, io: CliIO): Promise<number> {
  const value = await withMemory(options, 'read', (memory) => memory.retrieve(key));
  if (value === undefined) {
    io.stderr(`agents-sdk: no memory under key ${JSON.stringify(key)} (never stored, deleted, or expired)\n`);
    return EXIT.failed;
  }
  if (typeof value === 'string' && !options.json) io.stdout(value.endsWith('\n') ? value : `${value}\n`);
  else io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  return EXIT.ok;
}

/** `agents-sdk memory set <key> <value>`. */
export async function memorySet(key: string, text: string, options: SetOptions, io: CliIO): Promise<number> {
  const ttl = options.ttl === undefined ? undefined : Number(options.ttl);
  if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) throw new ValidationError(`--ttl must be a positive number of seconds, got "${options.ttl}"`);
  const value = jsonOrText(text);
  await withMemory(options, 'write', (memory) => memory.store(key, value, ttl === undefined ? {} : { ttl }));
  if (options.json) io.stdout(`${JSON.stringify({ key, value, ttl: ttl ?? null })}\n`);
  else io.stdout(`stored ${key}${ttl === undefined ? '' : ` for ${ttl} s`}\n`);
  return EXIT.ok;
}

/** `agents-sdk memory search <query>`. */
export async function memorySearch(query: string, options: FilterOptions, io: CliIO): Promise<number> {
  const limit = intOption('limit', options.limit);
  const results = await withMemory(options, 'read', (memory) =>
    memory.search(query, { ...(options.prefix !== undefined && { prefix: options.prefix }), ...(limit !== undefined && { limit }) }),
  );
  if (options.json) io.stdout(`${JSON.stringify(results, null, 2)}\n`);
  else if (results.length === 0) io.stdout(`nothing found for ${JSON.stringify(query)}\n`);
  else io.stdout(table(results.map((r: SearchResult) => [r.score.toPrecision(3), r.key, preview(r.value)])));
  return EXIT.ok;
}

/** `agents-sdk memory delete <key>`. */
export async function memoryDelete(key: string, options: MemoryCommandOptions, io: CliIO): Promise<number> {
  const deleted = await withMemory(options, 'write', (memory) => memory.delete(key));
  if (options.json) io.stdout(`${JSON.stringify({ key, deleted })}\n`);
  else if (deleted) io.stdout(`deleted ${key}\n`);
  if (!deleted) {
    io.stderr(`agents-sdk: no memory under key ${JSON.stringify(key)} (never stored, deleted, or expired)\n`);
    return EXIT.failed;
  }
  return EXIT.ok;
}

/** `agents-sdk memory clear-expired`. */
export async function memoryClearExpired(options: MemoryCommandOptions, io: CliIO): Promise<number> {
  const removed = await withMemory(options, 'write', (memory) => memory.clearExpired());
  io.stdout(options.json ? `${JSON.stringify({ removed })}\n` : `removed ${removed} expired ${removed === 1 ? 'entry' : 'entries'}\n`);
  return EXIT.ok;
}

/**
 * Opens the store, does the work, closes it. A command that only reads a store that does not
 * exist yet creates nothing: it reads an empty one.
 */
async function withMemory<T>(options: MemoryCommandOptions, access: 'read' | 'write', work: (memory: MemoryBackend) => Promise<T>): Promise<T> {
  const kind = options.backend ?? 'json';
  if (kind !== 'json' && kind !== 'sqlite') throw new ValidationError(`--backend must be json or sqlite, got "${kind}"`);
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const stored = existsSync(kind === 'json' ? join(stateDir, 'memory', 'memory-snapshot.json') : join(stateDir, MEMORY_SQLITE_FILE));
  const memory = await openMemoryBackend(access === 'read' && !stored ? 'memory' : kind, stateDir);
  try {
    return await work(memory);
  } finally {
    await memory.close();
  }
}

/** The value of `set`: JSON when the text is JSON, else the text itself. */
function jsonOrText(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

function preview(value: JsonValue): string {
  const text = JSON.stringify(value);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}

function expiry(entry: MemoryEntry): string {
  return entry.expiresAt === null ? '' : `expires ${new Date(entry.expiresAt).toISOString()}`;
}

/** Rows as left-aligned columns, trailing blanks trimmed. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.min(48, Math.max(...rows.map((row) => row[column]!.length))));
  return rows.map((row) => `${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join('');
}
