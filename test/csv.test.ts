import { describe, expect, it } from 'vitest';
import { parseCsv } from '../src/data/csv.js';

const at = (line: number, column: number): { line: number; column: number } => ({ line, column });

describe('parseCsv', () => {
  it('handles quotes, doubled quotes, embedded commas and line breaks, CRLF and a BOM', () => {
    const rows = parseCsv('\ufeffa,b,c\r\n1,"x, y","say ""hi""\r\nthere"\r\n2,,z\r\n', 't.csv');
    expect(rows.map(({ line, fields }) => ({ line, fields }))).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', 'x, y', 'say "hi"\r\nthere'] },
      { line: 4, fields: ['2', '', 'z'] },
    ]);
  });

  it('names line and column of an unterminated quote', () => {
    expect(() => parseCsv('a,b\n1,"oops\n2,3\n', 'bad.csv')).toThrowError(
      /bad\.csv: line 2, column 3: quoted field is never closed/,
    );
  });
});

describe('parseCsv field starts', () => {
  it('gives each field its line and column, columns counted after a BOM, CRLF ending a line', () => {
    const rows = parseCsv('\ufeffa,b,c\r\n1,"x, y","say ""hi""\r\nthere"\r\n2,,z\r\n', 't.csv');
    expect(rows.map(({ starts, end }) => ({ starts, end }))).toEqual([
      { starts: [at(1, 1), at(1, 3), at(1, 5)], end: at(1, 6) },
      // A quoted field starts at its opening quote; one that holds a line break moves the row's
      // end (and every later field) to the next line.
      { starts: [at(2, 1), at(2, 3), at(2, 10)], end: at(3, 7) },
      // An empty field starts where the comma that ends it stands.
      { starts: [at(4, 1), at(4, 3), at(4, 4)], end: at(4, 5) },
    ]);
  });

  it('counts doubled quotes as two columns and LF inside quotes as a new line', () => {
    const rows = parseCsv('"a""b",c\n"x\ny",z,"\n"\nlast', 't.csv');
    expect(rows).toEqual([
      { line: 1, fields: ['a"b', 'c'], starts: [at(1, 1), at(1, 8)], end: at(1, 9) },
      {
        line: 2,
        fields: ['x\ny', 'z', '\n'],
        starts: [at(2, 1), at(3, 4), at(3, 6)],
        end: at(4, 2),
      },
      // No line break at the end: the row ends at the end of the text.
      { line: 5, fields: ['last'], starts: [at(5, 1)], end: at(5, 5) },
    ]);
  });

  it('gives empty fields at the start and end of a row, and skips blank lines', () => {
    const rows = parseCsv(',a,\r\n\r\n\n,\n', 't.csv');
    expect(rows).toEqual([
      { line: 1, fields: ['', 'a', ''], starts: [at(1, 1), at(1, 2), at(1, 4)], end: at(1, 4) },
      { line: 4, fields: ['', ''], starts: [at(4, 1), at(4, 2)], end: at(4, 2) },
    ]);
  });

  it('keeps text after a closing quote in the field, which starts at the quote', () => {
    const rows = parseCsv('k,"ab"cd,e', 't.csv');
    expect(rows).toEqual([
      { line: 1, fields: ['k', 'abcd', 'e'], starts: [at(1, 1), at(1, 3), at(1, 10)], end: at(1, 11) },
    ]);
  });

  it('counts a BOM out of the first column only, and a character outside the BMP as two columns', () => {
    const rows = parseCsv('\ufeff"q",😀,x\n\ufeffy', 't.csv');
    expect(rows).toEqual([
      { line: 1, fields: ['q', '😀', 'x'], starts: [at(1, 1), at(1, 5), at(1, 8)], end: at(1, 9) },
      // Only a leading BOM is one: elsewhere U+FEFF is text.
      { line: 2, fields: ['\ufeffy'], starts: [at(2, 1)], end: at(2, 3) },
    ]);
  });
});
