/**
 * A child process of `nodePlacement` (src/models/placement.ts): creates one onnxruntime session
 * with verbose logging, so that onnxruntime prints where it placed each node on this process's
 * stderr, and exits. Arguments: <model.onnx> <device>.
 */
import * as ort from 'onnxruntime-node';
import { DEVICES, SessionFactory, type Device } from './session-factory.js';

async function main(): Promise<void> {
  const [path, device] = process.argv.slice(2);
  if (path === undefined || !(DEVICES as readonly string[]).includes(device ?? '')) {
    process.stderr.write('usage: placement-probe <model.onnx> <device>\n');
    process.exit(2);
  }
  const factory = new SessionFactory({ device: device as Device });
  const session = await factory.withFallback((options) => {
    // After the factory's own logger set-up (fatal only), so that the verbose lines come out.
    ort.env.logLevel = 'verbose';
    return ort.InferenceSession.create(path, { ...options, logSeverityLevel: 0, logVerbosityLevel: 0 });
  });
  ort.env.logLevel = 'fatal';
  await session.release();
  process.stdout.write(`${factory.effectiveDevice}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`placement-probe: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
