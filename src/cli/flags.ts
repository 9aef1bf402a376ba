import { parseArgs } from 'node:util';
import { EmoflowError } from '../core/errors.js';

/** One flag of a command. Values are validated here, once, and handed down typed. */
export type FlagSpec =
  | { type: 'boolean'; description: string; short?: string }
  | {
      type: 'string';
      description: string;
      short?: string;
      value?: string;
      default?: string;
      choices?: readonly string[];
    }
  | { type: 'strings'; description: string; value?: string }
  | { type: 'int'; description: string; value?: string; default?: number; min?: number; max?: number };

export interface PositionalSpec {
  name: string;
  description: string;
  optional?: boolean;
  /** Takes every remaining argument (last positional only). */
  variadic?: boolean;
}

export interface CommandSpec<F extends Record<string, FlagSpec>> {
  /** Full command path as typed, e.g. `bench mfcc`. */
  name: string;
  summary: string;
  positionals: readonly PositionalSpec[];
  flags: F;
  examples?: readonly string[];
}

type FlagValue<S extends FlagSpec> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'int'; default: number }
    ? number
    : S extends { type: 'int' }
      ? number | undefined
      : S extends { type: 'strings' }
        ? string[]
        : // A flag with choices is typed as one of them (the parser has checked it).
          S extends { type: 'string'; choices: readonly (infer C)[]; default: string }
          ? C
          : S extends { type: 'string'; choices: readonly (infer C)[] }
            ? C | undefined
            : S extends { type: 'string'; default: string }
              ? string
              : string | undefined;

export type ParsedFlags<F extends Record<string, FlagSpec>> = { [K in keyof F]: FlagValue<F[K]> };

export interface Parsed<F extends Record<string, FlagSpec>> {
  flags: ParsedFlags<F>;
  positionals: string[];
  help: boolean;
}

/**
 * The one flag parser of the CLI: `node:util` parseArgs in strict mode, plus integer and
 * choice validation, defaults, and `--help` on every command. Bad input is CONFIG_INVALID,
 * naming the flag and what is allowed.
 */
export function parseFlags<F extends Record<string, FlagSpec>>(
  spec: CommandSpec<F>,
  argv: readonly string[],
): Parsed<F> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, f] of Object.entries(spec.flags)) {
    const o: { type: 'string' | 'boolean'; short?: string; multiple?: boolean } = {
      type: f.type === 'boolean' ? 'boolean' : 'string',
    };
    if (f.type === 'strings') o.multiple = true;
    if ('short' in f && f.short !== undefined) o.short = f.short;
    options[name] = o;
  }
  let parsed: { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (e) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `emoflow ${spec.name}: ${(e as Error).message.split('\n')[0]} (see emoflow ${spec.name} --help)`,
    );
  }
  const help = parsed.values['help'] === true;
  const flags: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    const raw = parsed.values[name];
    if (f.type === 'boolean') {
      flags[name] = raw === true;
    } else if (f.type === 'strings') {
      flags[name] = Array.isArray(raw) ? raw : [];
    } else if (f.type === 'int') {
      if (raw === undefined) {
        flags[name] = f.default;
        continue;
      }
      const n = Number(raw);
      const min = f.min ?? Number.NEGATIVE_INFINITY;
      const max = f.max ?? Number.POSITIVE_INFINITY;
      if (!Number.isInteger(n) || n < min || n > max) {
        throw new EmoflowError(
          'CONFIG_INVALID',
          `emoflow ${spec.name}: --${name} must be an integer${Number.isFinite(min) ? ` >= ${min}` : ''}${Number.isFinite(max) ? ` and <= ${max}` : ''}, got '${String(raw)}'`,
        );
      }
      flags[name] = n;
    } else {
      const v = raw === undefined ? f.default : String(raw);
      if (v !== undefined && f.choices !== undefined && !f.choices.includes(v)) {
        throw new EmoflowError(
          'CONFIG_INVALID',
          `emoflow ${spec.name}: --${name} must be one of ${f.choices.join(', ')}, got '${v}'`,
        );
      }
      flags[name] = v;
    }
  }
  if (!help) {
    const required = spec.positionals.filter((p) => p.optional !== true).length;
    if (parsed.positionals.length < required) {
      const missing = spec.positionals[parsed.positionals.length]!;
      throw new EmoflowError(
        'CONFIG_INVALID',
        `emoflow ${spec.name}: missing <${missing.name}> (see emoflow ${spec.name} --help)`,
      );
    }
    const variadic = spec.positionals.at(-1)?.variadic === true;
    if (!variadic && parsed.positionals.length > spec.positionals.length) {
      throw new EmoflowError(
        'CONFIG_INVALID',
        `emoflow ${spec.name}: unexpected argument '${parsed.positionals[spec.positionals.length]!}' (see emoflow ${spec.name} --help)`,
      );
    }
  }
  return { flags: flags as ParsedFlags<F>, positionals: parsed.positionals, help };
}

/** The `--help` text of a command. */
export function helpText<F extends Record<string, FlagSpec>>(spec: CommandSpec<F>): string {
  const pos = spec.positionals
    .map((p) => {
      const name = p.variadic === true ? `${p.name}...` : p.name;
      return p.optional === true ? `[${name}]` : `<${name}>`;
    })
    .join(' ');
  const lines = [`Usage: emoflow ${spec.name}${pos ? ' ' + pos : ''} [options]`, '', spec.summary, ''];
  if (spec.positionals.length > 0) {
    lines.push('Arguments:');
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(24)}${p.description}`);
    lines.push('');
  }
  lines.push('Options:');
  const rows: [string, string][] = Object.entries(spec.flags).map(([name, f]) => {
    const short = 'short' in f && f.short !== undefined ? `-${f.short}, ` : '';
    const value =
      f.type === 'boolean' ? '' : ` <${('value' in f && f.value) || (f.type === 'int' ? 'n' : 'value')}>`;
    let desc = f.description;
    if (f.type === 'string' && f.choices !== undefined) desc += ` (${f.choices.join(' | ')})`;
    // A default may come from the environment (EMOFLOW_REDIS_URL): never print its password.
    if ((f.type === 'string' || f.type === 'int') && f.default !== undefined)
      desc += ` [default: ${String(f.default).replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@]*@/i, '$1***@')}]`;
    if (f.type === 'strings') desc += ' (repeatable)';
    return [`${short}--${name}${value}`, desc];
  });
  rows.push(['-h, --help', 'show this help']);
  // Descriptions line up after the longest option, two spaces at least.
  const width = Math.max(24, ...rows.map(([left]) => left.length + 2));
  for (const [left, desc] of rows) lines.push(`  ${left.padEnd(width)}${desc}`);
  if (spec.examples !== undefined && spec.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const e of spec.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n') + '\n';
}
