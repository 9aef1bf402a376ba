import { runCli } from './cli.js';

/** Runs the CLI on `argv` as this process: stdout, stderr, and the exit code. */
export function runAsProcess(argv: readonly string[]): void {
  runCli(argv, {
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
}
