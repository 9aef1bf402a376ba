import type { EmoflowWarning } from '../core/errors.js';
import type { CommandSpec, FlagSpec, Parsed } from './flags.js';

/** Where a command writes: stdout for results (the `--json` line last), stderr for the rest. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars only then). */
  interactive: boolean;
}

export interface Command<F extends Record<string, FlagSpec> = Record<string, FlagSpec>> {
  spec: CommandSpec<F>;
  run(parsed: Parsed<F>, io: CliIO): Promise<number>;
}

/** Keeps the flag types of `spec` flowing into `run`. */
export function defineCommand<F extends Record<string, FlagSpec>>(command: Command<F>): Command<F> {
  return command;
}

/** Warnings go to stderr as one line each. */
export function warningPrinter(io: CliIO): (w: EmoflowWarning) => void {
  return (w) => io.err(`warning ${w.code}: ${w.message}\n`);
}

/** Prints the one compact JSON line that `--json` promises (docs/cli.md). */
export function printJson(io: CliIO, value: unknown): void {
  io.out(JSON.stringify(value) + '\n');
}
