/**
 * Configuration without flags: `AGENTS_SDK_STATE_DIR`, `AGENTS_SDK_BACKEND`,
 * `AGENTS_SDK_MAX_PARALLEL`, and an `agents-sdk.config.json` (or `.yaml`/`.yml`) found upward
 * from the working directory (or named by `AGENTS_SDK_CONFIG`). A flag wins over the environment, the environment over the file.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../errors.js';
import { closestName } from '../workflow/closest-name.js';

/** The names a configuration file may have, looked for in this order in each directory. */
export const CONFIG_FILE_NAMES = ['agents-sdk.config.json', 'agents-sdk.config.yaml', 'agents-sdk.config.yml'] as const;

/** What a configuration file (or the environment) may set. */
export interface CliConfig {
  /** `--state-dir`; in a file, relative to the file's directory. */
  stateDir?: string;
  /** `--backend`: json or sqlite. */
  backend?: 'json' | 'sqlite';
  /** `--max-parallel` of `run` and `validate`. */
  maxParallel?: number;
}

/** Each setting, the option it stands for, and its environment variable. */
const SETTINGS = [
  { key: 'stateDir', flag: '--state-dir', env: 'AGENTS_SDK_STATE_DIR' },
  { key: 'backend', flag: '--backend', env: 'AGENTS_SDK_BACKEND' },
  { key: 'maxParallel', flag: '--max-parallel', env: 'AGENTS_SDK_MAX_PARALLEL' },
] as const;

type Key = (typeof SETTINGS)[number]['key'];

/** The configuration file that applies in `cwd`: the first found in it or a directory above it. */
export function findConfigFile(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const here = CONFIG_FILE_NAMES.map((name) => join(dir, name)).filter((file) => existsSync(file));
    if (here.length > 1) throw new ValidationError(`${dir} holds ${here.length} agents-sdk configuration files (${here.map((f) => f.slice(dir.length + 1)).join(', ')}): keep one`);
    if (here.length === 1) return here[0];
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Reads and checks a configuration file; a relative `stateDir` is made absolute against the
 * file's directory.
 *
 * @throws ValidationError naming the file and the field.
 */
export function loadConfigFile(file: string): CliConfig {
  let value: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ValidationError(`${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`, [{ path: file, message: 'cannot be parsed' }]);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError(`${file}: must hold an object of settings (stateDir, backend, maxParallel), got ${Array.isArray(value) ? 'a list' : typeof value}`);
  }
  const config: CliConfig = {};
  const known = SETTINGS.map((s) => s.key);
  for (const [field, raw] of Object.entries(value)) {
    if (!(known as readonly string[]).includes(field)) {
      const near = closestName(field, known);
      throw new ValidationError(`${file}: unknown field "${field}"${near ? ` (did you mean "${near}"?)` : ''}; the fields are ${known.join(', ')}`, [
        { path: field, message: 'unknown field' },
      ]);
    }
    const checked = checkSetting(field as Key, raw, `${file}: field "${field}"`);
    if (field === 'stateDir') config.stateDir = resolve(dirname(file), checked as string);
    else if (field === 'backend') config.backend = checked as 'json' | 'sqlite';
    else config.maxParallel = checked as number;
  }
  return config;
}

/** Checks one setting's value; `where` names it in the error (a file's field, a variable). */
function checkSetting(key: Key, raw: unknown, where: string): string | number {
  switch (key) {
    case 'stateDir':
      if (typeof raw !== 'string' || raw.trim() === '') throw new ValidationError(`${where} must be a directory path (a non-empty string), got ${JSON.stringify(raw)}`);
      return raw;
    case 'backend':
      if (raw !== 'json' && raw !== 'sqlite') throw new ValidationError(`${where} must be json or sqlite, got ${JSON.stringify(raw)}`);
      return raw;
    case 'maxParallel': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new ValidationError(`${where} must be an integer >= 1, got ${JSON.stringify(raw)}`);
      return n;
    }
  }
}

/**
 * Fills the options of `command` that were not given as flags from the environment, else from
 * the configuration file (read only when something is left to fill). Called before each
 * command's action.
 */
export function applyConfigDefaults(command: Command, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): void {
  const missing = SETTINGS.filter((s) => command.options.some((o) => o.long === s.flag) && command.getOptionValue(s.key) === undefined);
  let file: { path: string; config: CliConfig } | null | undefined;
  for (const setting of missing) {
    const fromEnv = env[setting.env];
    let value: string | number | undefined;
    if (fromEnv !== undefined && fromEnv !== '') value = checkSetting(setting.key, fromEnv, setting.env);
    else {
      if (file === undefined) {
        const named = env.AGENTS_SDK_CONFIG;
        if (named !== undefined && named !== '' && !existsSync(named)) throw new ValidationError(`AGENTS_SDK_CONFIG names ${named}, which does not exist`);
        const path = named !== undefined && named !== '' ? resolve(named) : findConfigFile(cwd);
        file = path === undefined ? null : { path, config: loadConfigFile(path) };
      }
      value = file?.config[setting.key];
    }
    if (value !== undefined) command.setOptionValueWithSource(setting.key, String(value), fromEnv ? 'env' : 'config');
  }
}
