/** Small numerics shared by the layers above core (metrics, datasets, the head runner). */

/**
 * Index of the largest entry of row `r` of an `N × C` matrix; ties go to the lowest index (as
 * `numpy.argmax`). NaN entries are never chosen over a number.
 */
export function argmaxRow(probs: ArrayLike<number>, r: number, C: number): number {
  const base = r * C;
  let best = 0;
  let bestValue = -Infinity;
  for (let c = 0; c < C; c++) {
    const v = probs[base + c]!;
    if (v > bestValue) {
      bestValue = v;
      best = c;
    }
  }
  return best;
}
