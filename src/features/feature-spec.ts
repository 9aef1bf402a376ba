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

/** The cache's key for one input under one extractor. */
export function featureKey(contentSha256: string, spec: FeatureSpec): string {
  return `${spec.name}@${spec.version}/${contentSha256}`;
}
