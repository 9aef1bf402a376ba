/**
 * The one error class of emoflow, with the stable codes of docs/errors.md.
 * Input errors (non-fatal) are recorded in a sample's output; fatal errors stop a run.
 */

export const ERROR_CODES = {
  TEXT_EMPTY: { fatal: false },
  TEXT_ENCODING: { fatal: false },
  IMAGE_DECODE_FAILED: { fatal: false },
  IMAGE_TOO_LARGE: { fatal: false },
  AUDIO_DECODE_FAILED: { fatal: false },
  AUDIO_EMPTY: { fatal: false },
  AUDIO_TOO_LONG: { fatal: false },
  FILE_NOT_FOUND: { fatal: false },
  FILE_UNREADABLE: { fatal: false },
  PATH_OUTSIDE_ROOT: { fatal: false },
  INPUT_NOT_REGULAR: { fatal: false },
  NO_MODALITY: { fatal: false },
  EXTRACTION_FAILED: { fatal: false },
  MANIFEST_INVALID: { fatal: true },
  MODEL_NOT_FOUND: { fatal: true },
  MODEL_CHECKSUM: { fatal: true },
  HEAD_INVALID: { fatal: true },
  HEAD_INCOMPATIBLE: { fatal: true },
  REDIS_UNAVAILABLE: { fatal: true },
  CONFIG_INVALID: { fatal: true },
  OUTPUT_EXISTS: { fatal: true },
  OUTPUT_WRITE_FAILED: { fatal: true },
  REDIS_WRITE_FAILED: { fatal: true },
  SUBMIT_INCOMPLETE: { fatal: true },
} as const satisfies Record<string, { fatal: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface EmoflowErrorOptions {
  path?: string;
  cause?: unknown;
}

export class EmoflowError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, options: EmoflowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EmoflowError';
    this.code = code;
    this.path = options.path;
  }

  get fatal(): boolean {
    return ERROR_CODES[this.code].fatal;
  }

  /** The `{code, message}` object that output records carry. */
  toRecord(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isEmoflowError(e: unknown, code?: ErrorCode): e is EmoflowError {
  return e instanceof EmoflowError && (code === undefined || e.code === code);
}

/** Warning codes: they never change a record's status (docs/ingest.md). */
export type WarningCode =
  | 'TEXT_TRUNCATED'
  | 'DEVICE_FALLBACK'
  | 'VAD_NO_SPEECH'
  | 'MODALITY_UNUSED'
  | 'FACE_NOT_FOUND'
  | 'CACHE_WAIT';

export interface EmoflowWarning {
  code: WarningCode;
  message: string;
}

/** An error's message, its first line only, cut at `max` characters (for one-line reports). */
export function firstLine(e: unknown, max = 200): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n')[0] ?? msg).slice(0, max);
}
