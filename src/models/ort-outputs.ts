import type * as ort from 'onnxruntime-node';

/** A named float32 output of a session run; a model without it is a broken model file. */
export function float32Output(res: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const t = res[name];
  if (t === undefined || !(t.data instanceof Float32Array)) {
    throw new Error(`onnxruntime returned no float32 output '${name}' (outputs: ${Object.keys(res).join(', ')})`);
  }
  return t.data;
}
