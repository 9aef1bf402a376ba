import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { packageRoot } from '../core/package-root.js';
import type { CliIO } from './command.js';
import { helpText, parseFlags } from './flags.js';
import { COMMANDS, type CommandEntry } from './command-index.js';

function topHelp(): string {
  const lines = [
    'emoflow: emotion recognition from text, faces and speech, alone or together.',
    '',
    'Usage: emoflow <command> [options]      (emoflow <command> --help for each)',
    '',
    'Commands:',
  ];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(18)}${firstSentence(c.summary)}`);
  lines.push('', 'Docs: docs/ in the package (docs/cli.md lists every command and flag).');
  return lines.join('\n') + '\n';
}

function firstSentence(s: string): string {
  const i = s.indexOf('. ');
  return i < 0 ? s : s.slice(0, i + 1);
}

/** Finds the longest command name that prefixes argv (`bench mfcc` before `bench`). */
function findCommand(argv: readonly string[]): { entry: CommandEntry; rest: string[] } | undefined {
  let best: { entry: CommandEntry; rest: string[]; words: number } | undefined;
  for (const c of COMMANDS) {
    const words = c.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (best === undefined || words.length > best.words))
      best = { entry: c, rest: argv.slice(words.length), words: words.length };
  }
  return best;
}

export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      io.out(topHelp());
      return argv.length === 0 ? 2 : 0;
    }
    if (argv[0] === '--version' || argv[0] === '-v') {
      const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
        version: string;
      };
      io.out(pkg.version + '\n');
      return 0;
    }
    const found = findCommand(argv);
    if (found === undefined) {
      // A group name alone (`emoflow bench`) lists its sub-commands.
      const group = COMMANDS.filter((c) => c.name.startsWith(argv[0] + ' '));
      if (group.length > 0 && (argv.length === 1 || argv[1] === '--help' || argv[1] === '-h')) {
        io.out(
          `Usage: emoflow ${argv[0]} <${group.map((c) => c.name.split(' ')[1]).join('|')}> [options]\n\n`,
        );
        for (const c of group) io.out(`  ${c.name.padEnd(18)}${firstSentence(c.summary)}\n`);
        return argv.length === 1 ? 2 : 0;
      }
      throw new EmoflowError(
        'CONFIG_INVALID',
        `unknown command '${argv.slice(0, 2).join(' ')}' (see emoflow --help)`,
      );
    }
    const command = await found.entry.load();
    const parsed = parseFlags(command.spec, found.rest);
    if (parsed.help) {
      io.out(helpText(command.spec));
      return 0;
    }
    return await command.run(parsed, io);
  } catch (e) {
    if (e instanceof EmoflowError) {
      io.err(`emoflow: ${e.code}: ${e.message.split('\n')[0]}\n`);
      return e.code === 'CONFIG_INVALID' ? 2 : 1;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.err(`emoflow: internal error: ${err.message}\n${err.stack ?? ''}\n`);
    return 70;
  }
}
