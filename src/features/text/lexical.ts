/**
 * The lexical text channel's ids (docs/features.md "Lexical channel"): fastText-style hashed
 * n-grams of a normalised text, which the head turns into an embedding bag it learns (Joulin et
 * al. 2017, "Bag of Tricks for Efficient Text Classification", §2: n-gram features hashed into
 * buckets; Bojanowski et al. 2017 §3.2: character n-grams of `<word>`).
 *
 * Version 1, all fixed but the bucket count:
 * - normalisation: Unicode NFKC, then lower case (String.prototype.toLowerCase, locale-free);
 * - tokens: runs of letters, marks and digits (with inner apostrophes, `don't`), and each other
 *   non-space character alone (`!`, `?`, an emoji), the first MAX_TOKENS of them;
 * - features: each token (`w:tok`), each two adjacent tokens (`b:tok tok`), and the character
 *   3-, 4- and 5-grams of `<word>` for each word token (`c:gram`);
 * - hash: 32-bit FNV-1a over the feature's UTF-8 bytes, modulo the bucket count;
 * - the bag: the LEXICAL_MAX_IDS most frequent ids (ties: first seen), sorted by id, each
 *   weighted by its count over the L2 norm of the counts (a unit-length term-frequency vector,
 *   as a TF-IDF model normalises its rows; a plain mean would shrink each n-gram's say as
 *   1/length and slow its learning by as much).
 */

/** Most distinct ids one text keeps. */
export const LEXICAL_MAX_IDS = 256;
/** Tokens of a text looked at (a 1 MiB text is cut to its first ones). */
export const MAX_TOKENS = 4096;
/** The default bucket count (docs/RESULTS.md says how it was chosen). */
export const DEFAULT_LEXICAL_BUCKETS = 131072;

/** What head.json records of the channel, so that every runtime computes the same ids. */
export interface LexicalSettings {
  tokenizer: 'emoflow-lexical-1';
  hash: 'fnv1a-32';
  buckets: number;
  maxIds: number;
  wordNgrams: number;
  charNgrams: [number, number];
}

export function lexicalSettings(buckets: number): LexicalSettings {
  return {
    tokenizer: 'emoflow-lexical-1',
    hash: 'fnv1a-32',
    buckets,
    maxIds: LEXICAL_MAX_IDS,
    wordNgrams: 2,
    charNgrams: [3, 5],
  };
}

const TOKEN = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*|[^\s\p{L}\p{M}\p{N}]/gu;
const WORD = /^[\p{L}\p{M}\p{N}]/u;

/** The tokens of a text, normalised (NFKC, lower case). */
export function lexicalTokens(text: string): string[] {
  const out: string[] = [];
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(TOKEN)) {
    out.push(m[0]);
    if (out.length >= MAX_TOKENS) break;
  }
  return out;
}

const utf8 = new TextEncoder();

/** 32-bit FNV-1a of a string's UTF-8 bytes (offset basis 2166136261, prime 16777619). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of utf8.encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The n-gram feature strings of a token list, in order (before hashing). */
export function lexicalFeatureStrings(tokens: readonly string[]): string[] {
  const out: string[] = [];
  tokens.forEach((t, i) => {
    out.push(`w:${t}`);
    if (i + 1 < tokens.length) out.push(`b:${t} ${tokens[i + 1]!}`);
    if (WORD.test(t)) {
      const chars = [...`<${t}>`];
      for (let n = 3; n <= 5; n++)
        for (let s = 0; s + n <= chars.length; s++) out.push(`c:${chars.slice(s, s + n).join('')}`);
    }
  });
  return out;
}

/** A text's bag: distinct bucket ids (ascending) and their weights (unit L2 norm; empty text: none). */
export function lexicalBag(text: string, buckets: number): { ids: Int32Array; weights: Float32Array } {
  const counts = new Map<number, { n: number; first: number }>();
  let k = 0;
  for (const f of lexicalFeatureStrings(lexicalTokens(text))) {
    const id = fnv1a32(f) % buckets;
    const c = counts.get(id);
    if (c === undefined) counts.set(id, { n: 1, first: k++ });
    else c.n++;
  }
  const kept = [...counts]
    .sort((a, b) => b[1].n - a[1].n || a[1].first - b[1].first)
    .slice(0, LEXICAL_MAX_IDS)
    .sort((a, b) => a[0] - b[0]);
  const norm = Math.sqrt(kept.reduce((s, [, c]) => s + c.n * c.n, 0));
  return {
    ids: Int32Array.from(kept, ([id]) => id),
    weights: Float32Array.from(kept, ([, c]) => c.n / norm),
  };
}

/**
 * The bag as the float tail of a text feature vector (2·LEXICAL_MAX_IDS values: the ids, exact
 * in float32 below 2^24, then their weights; unused places id 0 with weight 0), so that it
 * travels with the sentence embedding through the cache, datasets and queue payloads.
 */
export function packLexical(
  bag: { ids: Int32Array; weights: Float32Array },
  out: Float32Array,
  at: number,
): void {
  out.fill(0, at, at + 2 * LEXICAL_MAX_IDS);
  for (let i = 0; i < bag.ids.length; i++) {
    out[at + i] = bag.ids[i]!;
    out[at + LEXICAL_MAX_IDS + i] = bag.weights[i]!;
  }
}

/** Splits rows of packed tails (at `at` of each `dim`-wide row) into the head's ids and weights inputs. */
export function unpackLexicalRows(
  rows: Float32Array,
  dim: number,
  at: number,
  count: number,
): { ids: BigInt64Array; weights: Float32Array } {
  const ids = new BigInt64Array(count * LEXICAL_MAX_IDS);
  const weights = new Float32Array(count * LEXICAL_MAX_IDS);
  for (let r = 0; r < count; r++) {
    const base = r * dim + at;
    for (let i = 0; i < LEXICAL_MAX_IDS; i++) {
      ids[r * LEXICAL_MAX_IDS + i] = BigInt(Math.round(rows[base + i]!));
      weights[r * LEXICAL_MAX_IDS + i] = rows[base + LEXICAL_MAX_IDS + i]!;
    }
  }
  return { ids, weights };
}

const LEX_SUFFIX = /\+lex(\d+)$/;

/** The text spec name with the lexical channel (`<base>+lex<buckets>`). */
export function lexicalSpecName(base: string, buckets: number): string {
  return `${base}+lex${buckets}`;
}

/** The bucket count a text spec name carries, or undefined without the lexical channel. */
export function lexicalBucketsOfSpec(name: string | undefined): number | undefined {
  const m = name === undefined ? null : LEX_SUFFIX.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/** Width of the lexical tail in a text vector. */
export const LEXICAL_TAIL = 2 * LEXICAL_MAX_IDS;
