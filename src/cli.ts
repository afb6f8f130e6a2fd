#!/usr/bin/env node
/**
 * The `agents-sdk` command line. It only parses arguments and calls the library.
 *
 * @module
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { killAllProcessGroups } from './actors/supervised-process.js';
import { runCli } from './cli/run-cli.js';

/* c8 ignore start -- the process entry point is exercised by the spawned CLI tests */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // First Ctrl-C cancels gracefully (agents' process trees are killed, state is saved);
  // a second one exits at once.
  // SIGTERM and SIGHUP (kill, docker stop, a closed terminal) are treated the same way.
  const interrupt = new AbortController();
  let second: (() => void) | undefined;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interrupt.signal.aborted && second) {
        const handler = second;
        second = undefined;
        handler();
      } else if (interrupt.signal.aborted) {
        // Agents run in their own process groups: kill them before leaving.
        killAllProcessGroups();
        process.exit(130);
      }
      interrupt.abort();
    });
  }
  // `agents-sdk list | head`: a reader that went away is not an error worth a stack trace,
  // nor a reason to leave a run half done: the output is dropped and the command goes on.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  let finished = false;
  let exitWhenDone = false;
  process.on('beforeExit', () => {
    // The event loop drained while a command was still waiting: that is a bug, never a success.
    if (!finished) {
      process.stderr.write('agents-sdk: internal error: the command ended without a result\n');
      process.exitCode = 1;
      finished = true;
    }
  });
  runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: process.stdout.isTTY === true,
    get columns() {
      return process.stdout.columns;
    },
    signal: interrupt.signal,
    onSecondInterrupt: (handler) => {
      second = handler;
    },
    exitWhenDone: () => {
      exitWhenDone = true;
    },
  }).then(
    (code) => {
      finished = true;
      process.exitCode = code;
      if (exitWhenDone) process.exit(code);
    },
    (error: unknown) => {
      finished = true;
      process.stderr.write(`agents-sdk: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
/* c8 ignore stop */
