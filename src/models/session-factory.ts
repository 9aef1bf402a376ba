import * as ort from 'onnxruntime-node';
import { firstLine, type EmoflowWarning } from '../core/errors.js';
import { processDeviceLock, type DeviceLock } from './device-lock.js';

/** Where a model runs. `cpu` always works; the others fall back to it (docs/gpu.md). */
export const DEVICES = ['cpu', 'cuda', 'tensorrt', 'webgpu', 'dml', 'coreml'] as const;
export type Device = (typeof DEVICES)[number];

/** What `--device` accepts: a device, or `auto` (the first of AUTO_ORDER that works: src/models/auto-device.ts). */
export const DEVICE_CHOICES = [...DEVICES, 'auto'] as const;
export type DeviceChoice = (typeof DEVICE_CHOICES)[number];

export interface SessionFactoryOptions {
  device?: Device;
  /** Threads inside one operator (onnxruntime intra-op pool). 0 lets onnxruntime choose. */
  intraOpThreads?: number;
  /** Threads across independent operators. */
  interOpThreads?: number;
  /** Receives DEVICE_FALLBACK, at most once per `fallbackNotice`. */
  onWarning?: (w: EmoflowWarning) => void;
  /**
   * Whether a DEVICE_FALLBACK was already reported, shared by the factories that should warn only
   * once between them [default: one record for the whole process].
   */
  fallbackNotice?: FallbackNotice;
  /** Keep each session's model (path or bytes) for `models()` (the benchmarks report where they ran). */
  recordModels?: boolean;
  /** false: a device that cannot be used throws instead of falling back to CPU (the auto probe). [default: true] */
  fallback?: boolean;
  /** The process-wide lock of providers that cannot run sessions concurrently [default: this thread's processDeviceLock()]. */
  lock?: DeviceLock;
}

/** Execution-provider lists as onnxruntime-node names them; CPU last so that unsupported nodes still run. */
const PROVIDERS: Record<Device, string[]> = {
  cpu: ['cpu'],
  cuda: ['cuda', 'cpu'],
  tensorrt: ['tensorrt', 'cuda', 'cpu'],
  webgpu: ['webgpu', 'cpu'],
  dml: ['dml', 'cpu'],
  coreml: ['coreml', 'cpu'],
};

/**
 * Providers whose sessions must not be created, run or released while another session of the
 * process is (src/models/device-lock.ts says why). Only WebGPU is known to need it: CUDA runs
 * sessions concurrently, and DirectML serialises within a session, which onnxruntime does itself.
 */
const EXCLUSIVE: ReadonlySet<Device> = new Set<Device>(['webgpu']);

/** Whether a DEVICE_FALLBACK warning was given (SessionFactoryOptions.fallbackNotice). */
export interface FallbackNotice {
  warned: boolean;
}

// Per-process state, by design: one DEVICE_FALLBACK warning per process unless a caller passes
// its own notice, and ORT's logger configured once, before the first session (ORT prints
// provider-load failures itself otherwise, even though the exception already says it).
const PROCESS_FALLBACK_NOTICE: FallbackNotice = { warned: false };
let ortConfigured = false;

function configureOrt(): void {
  if (ortConfigured) return;
  ort.env.logLevel = 'fatal';
  ortConfigured = true;
}

/**
 * The one place that creates onnxruntime sessions. Sessions are created once per model
 * path and reused. A device whose provider library is absent makes onnxruntime-node throw
 * even when the list also names `cpu`; then the factory retries on CPU, remembers that for
 * later sessions, and emits one DEVICE_FALLBACK warning per process.
 */
export class SessionFactory {
  readonly requestedDevice: Device;
  private device: Device;
  private readonly intraOpThreads: number;
  private readonly interOpThreads: number;
  private readonly onWarning: (w: EmoflowWarning) => void;
  private readonly fallbackNotice: FallbackNotice;
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly lock: DeviceLock;
  private readonly fallback: boolean;
  private readonly recorded: Map<string, string | Uint8Array> | undefined;
  private readonly owned: (() => Promise<unknown>)[] = [];

  constructor(options: SessionFactoryOptions = {}) {
    this.recorded = options.recordModels === true ? new Map() : undefined;
    this.lock = options.lock ?? processDeviceLock();
    this.fallback = options.fallback ?? true;
    this.requestedDevice = options.device ?? 'cpu';
    this.device = this.requestedDevice;
    this.intraOpThreads = options.intraOpThreads ?? 0;
    this.interOpThreads = options.interOpThreads ?? 0;
    this.onWarning = options.onWarning ?? (() => undefined);
    this.fallbackNotice = options.fallbackNotice ?? PROCESS_FALLBACK_NOTICE;
  }

  /** The device sessions actually run on (after any fallback). */
  get effectiveDevice(): Device {
    return this.device;
  }

  get threads(): number {
    return this.intraOpThreads;
  }

  /** Options for a session on `device`; also handed to transformers.js so that its sessions match ours. */
  sessionOptions(device: Device = this.device): ort.InferenceSession.SessionOptions {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: PROVIDERS[device],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4,
    };
    if (this.intraOpThreads > 0) options.intraOpNumThreads = this.intraOpThreads;
    if (this.interOpThreads > 0) options.interOpNumThreads = this.interOpThreads;
    return options;
  }

  /**
   * A session for the ONNX file at `path` (or `key` for in-memory bytes), created once. On a
   * provider that cannot run sessions concurrently its `run` holds the process's device lock.
   */
  session(path: string): Promise<ort.InferenceSession>;
  session(key: string, bytes: Uint8Array): Promise<ort.InferenceSession>;
  session(key: string, bytes?: Uint8Array): Promise<ort.InferenceSession> {
    let s = this.sessions.get(key);
    if (s === undefined) {
      this.recorded?.set(key, bytes ?? key);
      s = this.withFallback((options) =>
        bytes === undefined ? ort.InferenceSession.create(key, options) : ort.InferenceSession.create(bytes, options),
      ).then((session) => this.guarded(session));
      this.sessions.set(key, s);
      s.catch(() => this.sessions.delete(key));
    }
    return s;
  }

  /** The models this factory created sessions of, by key (with `recordModels` only; else empty). */
  models(): Map<string, string | Uint8Array> {
    return new Map(this.recorded);
  }

  /**
   * Runs `fn` (a session's run, or a model call of transformers.js that runs its sessions)
   * holding the process's device lock when the device needs it; straight away otherwise.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return isExclusiveDevice(this.device) ? this.lock.hold(fn) : fn();
  }

  /** `session` with its run and release made exclusive when its device needs it. */
  private guarded(session: ort.InferenceSession): ort.InferenceSession {
    if (!isExclusiveDevice(this.device)) return session;
    const run = session.run.bind(session) as (...args: unknown[]) => Promise<ort.InferenceSession.ReturnType>;
    const release = session.release.bind(session);
    const lock = this.lock;
    // Own properties shadow the prototype's methods: callers keep the InferenceSession type.
    Object.defineProperty(session, 'run', {
      value: (...args: unknown[]) => lock.hold(() => run(...args)),
    });
    Object.defineProperty(session, 'release', { value: () => lock.hold(release) });
    return session;
  }

  /**
   * Runs `create` with this factory's options; if the device's provider cannot be loaded,
   * falls back to CPU. Used for our sessions and for the ones transformers.js creates.
   * Creation holds the device lock when the device needs it.
   */
  async withFallback<T>(create: (options: ort.InferenceSession.SessionOptions) => Promise<T>): Promise<T> {
    configureOrt();
    if (this.device === 'cpu') return create(this.sessionOptions('cpu'));
    try {
      const device = this.device;
      return await this.exclusive(() => create(this.sessionOptions(device)));
    } catch (e) {
      if (!this.fallback || !isProviderUnavailable(e)) throw e;
      const missing = this.device;
      this.device = 'cpu';
      if (!this.fallbackNotice.warned) {
        this.fallbackNotice.warned = true;
        this.onWarning({
          code: 'DEVICE_FALLBACK',
          message: `device '${missing}' is not available (${firstLine(e)}); running on CPU. See docs/gpu.md for how to install the ${missing} execution provider.`,
        });
      }
      return create(this.sessionOptions('cpu'));
    }
  }

  /**
   * Ties the release of something holding sessions this factory did not create itself (a
   * transformers.js model, created through `withFallback`) to `release`, so that its sessions
   * are freed explicitly, under the device lock, and not by a garbage collector at an arbitrary
   * moment (on WebGPU, a session freed while another runs corrupts the shared device).
   */
  own(dispose: () => Promise<unknown>): void {
    this.owned.push(dispose);
  }

  async release(): Promise<void> {
    const owned = this.owned.splice(0);
    for (const dispose of owned) await dispose().catch(() => undefined);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.release()));
  }
}

/** Whether `device`'s sessions must not run concurrently (the process-wide device lock applies). */
export function isExclusiveDevice(device: Device): boolean {
  return EXCLUSIVE.has(device);
}


/**
 * onnxruntime-node's messages when an execution provider cannot be used: its shared library
 * is missing (cuda, tensorrt), the backend is not built for this platform (dml, coreml), or
 * the provider finds no adapter (webgpu without a Vulkan driver).
 */
export function isProviderUnavailable(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /Failed to load shared library|backend not found|no available backend|Failed to get a WebGPU adapter|AppendExecutionProvider|provider.*not (?:available|supported)|cannot open shared object/i.test(
    msg,
  );
}
