import { parseCsv, type CsvRow } from '../csv.js';
import { invalidAt, lineColumn } from './common.js';

/**
 * Where in a corpus's table or JSON text something is wrong, for MANIFEST_INVALID messages that
 * name a line and column: CSV with a header row (positions from parseCsv), and JSON positions.
 */

// ---------------------------------------------------------------------------------------------
// CSV with a header row

/** A CSV file with a header row, checked by `readTable`. */
export interface Table<C extends readonly string[]> {
  rows: CsvRow[];
  /** Field index of each required column, in the order asked for. */
  columns: { [K in keyof C]: number };
  /** MANIFEST_INVALID at the start of a row's field (where the row ends, past its last field). */
  invalid: (row: CsvRow, field: number, what: string) => never;
}

/** parseCsv, then checks the header names every required column and each row has its width. */
export function readTable<const C extends readonly string[]>(
  text: string,
  path: string,
  required: C,
): Table<C> {
  const rows = parseCsv(text, path);
  const header = rows.shift();
  if (header === undefined) invalidAt(path, 1, 1, `the file is empty (a header row is required)`);
  const names = header.fields.map((h) => h.trim());
  const columns = required.map((name) => {
    const k = names.indexOf(name);
    if (k < 0)
      invalidAt(path, header.line, 1, `the header has no '${name}' column (columns: ${names.join(', ')})`);
    return k;
  }) as { [K in keyof C]: number };
  const at = (row: CsvRow, field: number, what: string): never => {
    const { line, column } = row.starts[field] ?? row.end;
    return invalidAt(path, line, column, what);
  };
  for (const row of rows) {
    if (row.fields.length !== names.length)
      at(
        row,
        Math.min(row.fields.length, names.length),
        `${row.fields.length} fields where the header has ${names.length}`,
      );
  }
  return { rows, columns, invalid: at };
}

// ---------------------------------------------------------------------------------------------
// JSON positions: JSON.parse says where a syntax error is (in most V8 messages) but not where a
// well-formed value of the wrong shape is, so a small scanner finds both.

const JSON_POSITION = /at position (\d+)/;
const HEX_DIGIT = /^[0-9a-fA-F]$/;
const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class JsonSyntax {
  constructor(readonly offset: number) {}
}

/**
 * Line and column of the syntax error that JSON.parse reported with `message` on `text`: the
 * position the message gives, else the first character that is not valid JSON (V8 sometimes
 * omits the position).
 */
export function jsonSyntaxErrorPosition(text: string, message: string): { line: number; column: number } {
  const pos = JSON_POSITION.exec(message);
  return lineColumn(text, pos !== null ? Number(pos[1]) : jsonSyntaxErrorOffset(text));
}

/** Line and column of the value at `path` (array indices, object keys) in valid JSON text. */
export function jsonValuePosition(
  text: string,
  path: readonly (number | string)[],
): { line: number; column: number } {
  return lineColumn(text, jsonValueOffset(text, path));
}

/** Offset of the first character that is not valid JSON. */
function jsonSyntaxErrorOffset(text: string): number {
  try {
    const end = skipWhite(text, skipJsonValue(text, 0));
    return end < text.length ? end : text.length;
  } catch (e) {
    if (e instanceof JsonSyntax) return e.offset;
    throw e;
  }
}

/** Offset of the value at `path` (array indices, object keys) in valid JSON text. */
function jsonValueOffset(text: string, path: readonly (number | string)[]): number {
  let i = skipWhite(text, 0);
  for (const step of path) {
    i = skipWhite(text, i + 1); // past '[' or '{'
    if (typeof step === 'number') {
      for (let k = 0; k < step; k++) i = skipWhite(text, skipWhite(text, skipJsonValue(text, i)) + 1);
    } else {
      for (;;) {
        const keyEnd = skipJsonValue(text, i);
        const key = JSON.parse(text.slice(i, keyEnd)) as string;
        i = skipWhite(text, skipWhite(text, keyEnd) + 1); // past ':'
        if (key === step) break;
        i = skipWhite(text, skipWhite(text, skipJsonValue(text, i)) + 1); // past ','
      }
    }
  }
  return i;
}

function skipWhite(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** The offset just after the JSON value at `i` (RFC 8259); JsonSyntax where it goes wrong. */
function skipJsonValue(text: string, i: number): number {
  i = skipWhite(text, i);
  const c = text[i];
  if (c === '[' || c === '{') {
    const close = c === '[' ? ']' : '}';
    i = skipWhite(text, i + 1);
    if (text[i] === close) return i + 1;
    for (;;) {
      if (close === '}') {
        if (text[i] !== '"') throw new JsonSyntax(i);
        i = skipWhite(text, skipJsonValue(text, i));
        if (text[i] !== ':') throw new JsonSyntax(i);
        i++;
      }
      i = skipWhite(text, skipJsonValue(text, i));
      if (text[i] === close) return i + 1;
      if (text[i] !== ',') throw new JsonSyntax(i);
      i = skipWhite(text, i + 1);
    }
  }
  if (c === '"') {
    for (i++; i < text.length; i++) {
      const d = text.charCodeAt(i);
      if (d === 0x22) return i + 1;
      if (d < 0x20) throw new JsonSyntax(i);
      if (d === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          for (let k = 2; k < 6; k++) if (!HEX_DIGIT.test(text[i + k] ?? '')) throw new JsonSyntax(i + k);
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else throw new JsonSyntax(i + 1);
      }
    }
    throw new JsonSyntax(text.length);
  }
  for (const word of ['true', 'false', 'null']) if (text.startsWith(word, i)) return i + word.length;
  JSON_NUMBER.lastIndex = i;
  if (JSON_NUMBER.test(text)) return JSON_NUMBER.lastIndex;
  throw new JsonSyntax(i);
}
