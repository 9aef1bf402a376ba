import { describe, expect, it } from 'vitest';
import { EMOTIONS } from '../src/core/labels.js';
import { FERPLUS_COLUMNS, ferplusMajority } from '../src/data/adapters/ferplus.js';

/** The FER+ corpus rule (src/data/adapters/ferplus.ts); readFerPlus itself: media-adapters.test.ts. */

const idx = (name: (typeof EMOTIONS)[number]): number => EMOTIONS.indexOf(name);

describe('ferplusMajority', () => {
  // Columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
  it('counts the votes in label.csv column order', () => {
    expect(FERPLUS_COLUMNS.join(' ')).toBe(
      'neutral happiness surprise sadness anger disgust fear contempt unknown NF',
    );
  });

  it('maps a strict majority of the votes above 1 to the emoflow label', () => {
    expect(ferplusMajority([0, 10, 0, 0, 0, 0, 0, 0, 0, 0])).toBe(idx('joy'));
    // 1-votes dropped: neutral 6 of 6 + 2 (unknown) = 8.
    expect(ferplusMajority([6, 0, 1, 1, 0, 0, 0, 0, 2, 0])).toBe(idx('neutral'));
    expect(ferplusMajority([0, 0, 6, 0, 0, 0, 4, 0, 0, 0])).toBe(idx('surprise'));
    expect(ferplusMajority([0, 0, 0, 10, 0, 0, 0, 0, 0, 0])).toBe(idx('sadness'));
    expect(ferplusMajority([0, 0, 0, 0, 8, 1, 0, 0, 1, 0])).toBe(idx('anger'));
    // disgust 6 of 6 + 2 (contempt) once the three 1-votes are gone.
    expect(ferplusMajority([1, 0, 0, 1, 0, 6, 0, 2, 0, 0])).toBe(idx('disgust'));
    expect(ferplusMajority([1, 0, 0, 0, 0, 0, 9, 0, 0, 0])).toBe(idx('fear'));
  });

  it('drops single votes before counting, even when they are most of the raw votes', () => {
    // Raw: neutral 2 of 10. After zeroing the eight 1-votes: 2 of 2.
    expect(ferplusMajority([2, 1, 1, 1, 1, 1, 1, 1, 1, 0])).toBe(idx('neutral'));
    expect(ferplusMajority([1, 1, 1, 1, 1, 1, 1, 1, 1, 1])).toBeNull();
  });

  it('needs more than half: exactly half or a plurality is excluded', () => {
    expect(ferplusMajority([5, 5, 0, 0, 0, 0, 0, 0, 0, 0])).toBeNull();
    // fer0000000 of the training set: 4, 3, 2 after dropping the 1 -> 4 of 9 is no majority.
    expect(ferplusMajority([4, 0, 0, 1, 3, 2, 0, 0, 0, 0])).toBeNull();
    // Unknown votes count in the total: 4 of 8.
    expect(ferplusMajority([4, 0, 0, 0, 0, 0, 0, 0, 4, 0])).toBeNull();
    expect(ferplusMajority([5, 0, 0, 0, 0, 0, 0, 0, 3, 0])).toBe(idx('neutral'));
  });

  it('excludes contempt, unknown and NF majorities', () => {
    expect(ferplusMajority([0, 0, 0, 0, 0, 2, 0, 7, 1, 0])).toBeNull();
    expect(ferplusMajority([2, 0, 0, 0, 0, 0, 0, 0, 8, 0])).toBeNull();
    expect(ferplusMajority([0, 0, 0, 0, 0, 0, 0, 0, 0, 10])).toBeNull();
  });

  it('rejects a row without 10 counts', () => {
    expect(() => ferplusMajority([1, 2, 3])).toThrow(RangeError);
    expect(() => ferplusMajority([0, 10, 0, 0, 0, 0, 0, 0, 0, -1])).toThrow(RangeError);
  });
});
