#!/usr/bin/env node
// The `emoflow` binary: wires the process to the CLI. Everything testable lives in cli.ts.
import { runAsProcess } from './run-process.js';

runAsProcess(process.argv.slice(2));
