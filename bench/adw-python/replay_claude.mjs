#!/usr/bin/env node
// A `claude` for bench/adw-speedup.mjs's Python run: `-p replay:<task id>` waits the task's
// recorded duration (result line's duration_ms) divided by the speed, then prints its recorded
// stream. Settings come from replay.json beside it (ADW gives claude a filtered environment).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { recordings, speed } = JSON.parse(readFileSync(join(here, 'replay.json'), 'utf8'));
const args = process.argv.slice(2);
if (args[0] === '--version') {
  console.log('2.1.197 (Claude Code)');
  process.exit(0);
}
const task = /replay:(\w+)/.exec(args[1] ?? '')?.[1];
const text = readFileSync(join(recordings, task, 'raw_output.jsonl'), 'utf8');
const result = text.trim().split('\n').map((l) => JSON.parse(l)).find((m) => m.type === 'result');
setTimeout(() => process.stdout.write(text), speed > 0 ? (result?.duration_ms ?? 0) / speed : 0);
