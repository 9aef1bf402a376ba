import { join } from 'node:path';
import { nodePlacement } from '../../src/models/placement.js';
import { repoRoot } from './paths.js';

/**
 * Whether onnxruntime finds a WebGPU adapter here (a GPU's Vulkan/Metal/D3D12 driver, or Mesa's
 * lavapipe, a Vulkan driver on the CPU, which .ci/run installs). Asked of a child process, as the
 * placement probe does (src/models/placement.ts), so that no Dawn device lives in the test process.
 */
export async function webgpuAdapter(): Promise<{ present: boolean; why: string }> {
  const fer = join(repoRoot, 'models', 'fer_mini_xception_emb.onnx');
  try {
    const p = await nodePlacement(fer, 'webgpu');
    if (p.device === 'webgpu' && (p.nodes.webgpu ?? 0) > 0) return { present: true, why: '' };
    return {
      present: false,
      why: 'onnxruntime found no WebGPU adapter; a Vulkan driver gives one, e.g. mesa-vulkan-drivers from bookworm-backports, see docs/gpu.md',
    };
  } catch (e) {
    // No parentheses: the reason ends up inside `(skipped: …)` in the suite's name.
    const first = (e as Error).message.split('\n')[0] ?? '';
    return { present: false, why: `the WebGPU probe failed: ${first.replace(/[()]/g, ' ')}` };
  }
}
