#!/usr/bin/env node
// The `emoflow` binary: wires the process to the CLI. Everything testable lives in cli.ts.
import { runCli } from './cli.js';

runCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  interactive: process.stderr.isTTY === true,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`emoflow: internal error: ${String(e)}\n`);
    process.exitCode = 70;
  },
);
