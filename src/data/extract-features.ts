import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmoflowWarning, ErrorCode } from '../core/errors.js';
import type { Modality } from '../core/labels.js';
import type { ExtractorInput, Sample } from '../core/sample.js';
import type { ModalityExtractor } from '../features/modality-extractor.js';
import { readModality, sha256 } from '../io/read-input.js';
import { writeFailed } from '../io/write-errors.js';
import { FeatureCache } from './feature-cache.js';

export interface ModalityCounts {
  extracted: number;
  cached: number;
  errors: number;
}

export interface ExtractSummary {
  samples: number;
  modalities: Partial<Record<Modality, ModalityCounts>>;
  errorCodes: Partial<Record<ErrorCode, number>>;
  index: string;
  specs: Partial<Record<Modality, string>>;
}

/** What the sample index says of one modality of one sample. */
type ModalityRef =
  | { sha256: string; status: 'ok' }
  | { sha256?: string; status: 'error'; error: { code: ErrorCode; message: string } };

export interface ExtractOptions {
  /** Samples read and extracted together; bounds memory. */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
  /** Receives each sample's vector of each modality that worked (sample index in `samples`). */
  onVector?: (sample: number, modality: Modality, vector: Float32Array) => void;
  /** The most bytes of a text read (readModality). */
  maxTextBytes?: number;
  /** Warnings of reading (a text cut at the byte cap). */
  onWarning?: (w: EmoflowWarning) => void;
}

/**
 * Fills the feature cache under `outDir` for every modality of every sample, extracting only
 * what the cache lacks, and writes `<outDir>/index/<name>.jsonl`: one line per sample with its
 * ids, labels and, per modality, the content sha256 that keys the cache (or the input error).
 */
export async function extractToCache(
  samples: readonly Sample[],
  extractors: readonly ModalityExtractor[],
  outDir: string,
  indexName: string,
  options: ExtractOptions = {},
): Promise<ExtractSummary> {
  const chunk = options.chunk ?? 256;
  const readOptions = options.maxTextBytes === undefined ? {} : { maxTextBytes: options.maxTextBytes };
  const caches = new Map<Modality, { cache: FeatureCache; extractor: ModalityExtractor }>();
  for (const ex of extractors)
    caches.set(ex.modality, {
      cache: await FeatureCache.open(outDir, ex.spec, {
        onWait: (message) => options.onWarning?.({ code: 'CACHE_WAIT', message }),
      }),
      extractor: ex,
    });
  await mkdir(join(outDir, 'index'), { recursive: true });
  const indexPath = join(outDir, 'index', `${indexName}.jsonl`);
  const index = await open(indexPath, 'w');
  const summary: ExtractSummary = {
    samples: samples.length,
    modalities: {},
    errorCodes: {},
    index: indexPath,
    specs: {},
  };
  for (const [m, { cache }] of caches) {
    summary.modalities[m] = { extracted: 0, cached: 0, errors: 0 };
    summary.specs[m] = FeatureCache.folderName(cache.spec);
  }
  const countError = (m: Modality, code: ErrorCode) => {
    summary.modalities[m]!.errors++;
    summary.errorCodes[code] = (summary.errorCodes[code] ?? 0) + 1;
  };
  try {
    for (let start = 0; start < samples.length; start += chunk) {
      const part = samples.slice(start, start + chunk);
      const refs: Partial<Record<Modality, ModalityRef>>[] = part.map(() => ({}));
      for (const [m, { cache, extractor }] of caches) {
        const todo: { at: number; sha: string }[] = [];
        const fresh = new Map<string, ExtractorInput>(); // by content: duplicates are extracted once
        for (let i = 0; i < part.length; i++) {
          const read = await readModality(part[i]!, m, readOptions);
          if (read === undefined) continue;
          if (read.status === 'error') {
            refs[i]![m] = { status: 'error', error: read.error.toRecord() };
            countError(m, read.error.code);
            continue;
          }
          for (const w of read.warnings) options.onWarning?.(w);
          const sha = sha256(read.input.bytes);
          if (cache.has(sha)) summary.modalities[m]!.cached++;
          else if (!fresh.has(sha)) fresh.set(sha, read.input);
          todo.push({ at: i, sha });
        }
        const work = [...fresh];
        const results = await extractor.extract(work.map(([, input]) => input));
        for (let k = 0; k < work.length; k++) {
          const r = results[k]!;
          await writing(
            cache.put(
              work[k]![0],
              r.status === 'ok'
                ? { status: 'ok', vector: r.vector, meta: r.meta }
                : { status: 'error', error: r.error.toRecord() },
            ),
            join(outDir, FeatureCache.folderName(cache.spec)),
          );
          summary.modalities[m]!.extracted++;
        }
        for (const t of todo) {
          const got = cache.get(t.sha)!;
          if (got.status === 'ok') {
            refs[t.at]![m] = { sha256: t.sha, status: 'ok' };
            options.onVector?.(start + t.at, m, got.vector);
          } else {
            refs[t.at]![m] = { sha256: t.sha, status: 'error', error: got.error };
            countError(m, got.error.code);
          }
        }
      }
      for (let i = 0; i < part.length; i++) {
        const s = part[i]!;
        const line = {
          id: s.id,
          group: s.group,
          order: s.order,
          speaker: s.speaker,
          labels: s.labels,
          ...refs[i],
        };
        await writing(index.write(JSON.stringify(line) + '\n'), indexPath);
      }
      options.onProgress?.(Math.min(start + chunk, samples.length), samples.length);
    }
  } finally {
    await index.close();
    for (const { cache } of caches.values()) await cache.close();
  }
  return summary;
}

/**
 * A write to the cache or the index; a failure (disk full) is OUTPUT_WRITE_FAILED. What the
 * cache holds stays valid (a torn last entry is cut off when it is next opened), so running
 * the command again extracts only what is missing.
 */
async function writing<T>(p: Promise<T>, path: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw writeFailed(
      path,
      e,
      'the features cached so far stay',
      'run the same command again: it extracts only what the cache lacks',
    );
  }
}
