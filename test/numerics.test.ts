import { describe, expect, it } from 'vitest';
import { argmaxRow } from '../src/core/numerics.js';

describe('argmaxRow', () => {
  const m = Float32Array.from([0.1, 0.7, 0.2, 0.4, 0.4, 0.2, NaN, 0.3, 0.5]);

  it('picks the largest entry of the row asked for', () => {
    expect(argmaxRow(m, 0, 3)).toBe(1);
  });

  it('gives ties to the lowest index, as numpy.argmax', () => {
    expect(argmaxRow(m, 1, 3)).toBe(0);
  });

  it('never chooses NaN over a number', () => {
    expect(argmaxRow(m, 2, 3)).toBe(2);
    expect(argmaxRow([NaN, NaN, 1], 0, 3)).toBe(2);
  });
});
