import { EmoflowError } from '../core/errors.js';

/** A place in the text: 1-based line, and 1-based column in UTF-16 code units (after a BOM). */
export interface CsvPosition {
  line: number;
  column: number;
}

export interface CsvRow {
  /** 1-based line where the row starts. */
  line: number;
  fields: string[];
  /**
   * Where each field starts, one per field: its first character, for a quoted field the opening
   * quote; for an empty field, the comma or line break that ends it.
   */
  starts: CsvPosition[];
  /** Where the row ends: its line break, or the end of the text. */
  end: CsvPosition;
}

/**
 * RFC 4180 CSV: comma-separated, double-quoted fields may hold commas, quotes ("") and line
 * breaks; CRLF or LF. An unterminated quote is MANIFEST_INVALID naming its line and column.
 * Lines and columns count as `CsvRow` says: a line break inside a quoted field starts a line, and
 * columns count from after a leading BOM.
 */
export function parseCsv(text: string, path: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let starts: CsvPosition[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let col = 1;
  let fieldStart: CsvPosition = { line, column: col };
  let i = 0;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // BOM
  let quoted = false;
  let quoteLine = 0;
  let quoteCol = 0;
  let fieldStarted = false;
  while (i < n) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          col += 2;
          continue;
        }
        quoted = false;
        i++;
        col++;
        continue;
      }
      if (c === '\n') {
        line++;
        col = 0;
      }
      field += c;
      i++;
      col++;
      continue;
    }
    if (c === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
      quoteLine = line;
      quoteCol = col;
      i++;
      col++;
      continue;
    }
    if (c === ',') {
      fields.push(field);
      starts.push(fieldStart);
      field = '';
      fieldStarted = false;
      i++;
      col++;
      fieldStart = { line, column: col };
      continue;
    }
    if (c === '\r' || c === '\n') {
      fields.push(field);
      starts.push(fieldStart);
      if (!(fields.length === 1 && fields[0] === ''))
        rows.push({ line: rowLine, fields, starts, end: { line, column: col } });
      fields = [];
      starts = [];
      field = '';
      fieldStarted = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      col = 1;
      rowLine = line;
      fieldStart = { line, column: col };
      continue;
    }
    field += c;
    fieldStarted = true;
    i++;
    col++;
  }
  if (quoted) {
    throw new EmoflowError(
      'MANIFEST_INVALID',
      `${path}: line ${quoteLine}, column ${quoteCol}: quoted field is never closed`,
      { path },
    );
  }
  if (fieldStarted || fields.length > 0) {
    fields.push(field);
    starts.push(fieldStart);
    rows.push({ line: rowLine, fields, starts, end: { line, column: col } });
  }
  return rows;
}
