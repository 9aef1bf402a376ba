/**
 * What an extractor produces: a name, a version and a dimension (docs/features.md). A feature
 * cache key is (content sha256, name, version); options that change the values (VAD on or
 * off, the text model) are folded into `name` so that a head can check at inference that it
 * gets what it was trained with.
 */
export interface FeatureSpec {
  name: string;
  version: string;
  dim: number;
}

/**
 * Whether features made to spec `a` can stand where spec `b` is expected: the same name, version
 * and dimension. The one check behind every HEAD_INCOMPATIBLE about features (head runner,
 * evaluation, fine-tuning).
 */
export function sameSpec(a: FeatureSpec, b: FeatureSpec): boolean {
  return a.name === b.name && a.version === b.version && a.dim === b.dim;
}

/** A spec as messages name it: `name@version (dim-d)`. */
export function describeSpec(s: FeatureSpec): string {
  return `${s.name}@${s.version} (${s.dim}-d)`;
}
