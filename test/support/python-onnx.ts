/**
 * The reference ONNX implementation (Debian's python3-onnx, run with /usr/bin/python3) as an oracle for
 * models that emoflow writes. A missing python3-onnx is an error, not a pass: tests that use these helpers
 * fail unless EMOFLOW_SKIP_PYTHON_REFERENCE=1 is set (see `skipPythonReference`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PYTHON = '/usr/bin/python3';

/** Set EMOFLOW_SKIP_PYTHON_REFERENCE=1 to skip the python reference checks (with a message). */
export const skipPythonReference = process.env['EMOFLOW_SKIP_PYTHON_REFERENCE'] === '1';

export const skipPythonReferenceMessage =
  'EMOFLOW_SKIP_PYTHON_REFERENCE=1: skipping checks against python3-onnx (onnx.checker, onnx.load)';

export interface PythonOnnxCheck {
  /** onnx.checker.check_model(model, full_check=True) passed. */
  ok: boolean;
  /** The checker's error, or '' when it passed. */
  message: string;
  /** Node count, node op types in order and initializer names in order, as onnx.load reads them. */
  nodes: number;
  ops: string[];
  initializers: string[];
  /** Total element count of all initializers. */
  initializerElements: number;
}

const PRELUDE = `
import json, sys
try:
    import onnx
    import onnx.checker, onnx.numpy_helper
    import numpy as np
except Exception as e:
    print(json.dumps({"__import_error__": repr(e)}))
    sys.exit(0)
m = onnx.load(sys.argv[1]) if len(sys.argv) > 1 else None
out = None
`;

/**
 * Runs `body` under /usr/bin/python3 with `onnx`, `np` and `json` imported, and with `m` the model loaded
 * by onnx.load from `model` (None without one); `body` sets `out` to something JSON-serialisable, which is
 * returned. Throws when python3-onnx is missing or the script fails.
 */
export async function runPythonOnnx(body: string, model?: Uint8Array): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'emoflow-onnx-'));
  try {
    const args = ['-c', `${PRELUDE}\n${body}\nprint(json.dumps(out))`];
    if (model !== undefined) {
      const path = join(dir, 'model.onnx');
      await writeFile(path, model);
      args.push(path);
    }
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(PYTHON, args, { maxBuffer: 64 << 20, timeout: 120_000 }, (err, out, errOut) => {
        if (err) reject(new Error(`${PYTHON} failed: ${err.message}\n${errOut}`));
        else resolve(out);
      });
    });
    const lines = stdout.trim().split('\n');
    const result: unknown = JSON.parse(lines[lines.length - 1] ?? 'null');
    if (typeof result === 'object' && result !== null && '__import_error__' in result) {
      throw new Error(
        `python3-onnx is not importable by ${PYTHON} (${String(result.__import_error__)}): ` +
          'install python3-onnx (apt-get install python3-onnx), or set EMOFLOW_SKIP_PYTHON_REFERENCE=1 to skip',
      );
    }
    return result;
  } catch (e) {
    if (e instanceof Error && /ENOENT/.test(e.message)) {
      throw new Error(`${PYTHON} is missing: install python3-onnx, or set EMOFLOW_SKIP_PYTHON_REFERENCE=1`);
    }
    throw e;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** onnx.checker.check_model(full_check=True) on `bytes`, plus what onnx.load sees in the graph. */
export async function checkWithPythonOnnx(bytes: Uint8Array): Promise<PythonOnnxCheck> {
  const result = await runPythonOnnx(
    `
g = m.graph
try:
    onnx.checker.check_model(m, full_check=True)
    ok, message = True, ""
except Exception as e:
    ok, message = False, str(e)
out = {
    "ok": ok,
    "message": message,
    "nodes": len(g.node),
    "ops": [n.op_type for n in g.node],
    "initializers": [t.name for t in g.initializer],
    "initializerElements": int(sum(int(np.prod(t.dims)) for t in g.initializer)),
}
`,
    bytes,
  );
  return result as PythonOnnxCheck;
}
