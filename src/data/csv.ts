import { EmoflowError } from '../core/errors.js';

export interface CsvRow {
  /** 1-based line where the row starts. */
  line: number;
  fields: string[];
}

/**
 * RFC 4180 CSV: comma-separated, double-quoted fields may hold commas, quotes ("") and line
 * breaks; CRLF or LF. An unterminated quote is MANIFEST_INVALID naming its line and column.
 */
export function parseCsv(text: string, path: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let col = 1;
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
      field = '';
      fieldStarted = false;
      i++;
      col++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      fields.push(field);
      if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: rowLine, fields });
      fields = [];
      field = '';
      fieldStarted = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      col = 1;
      rowLine = line;
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
    rows.push({ line: rowLine, fields });
  }
  return rows;
}
