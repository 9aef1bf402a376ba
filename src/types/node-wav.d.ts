// node-wav 0.0.2 ships no types. Only what emoflow uses (tests cross-check and write WAVs with it;
// decoding in src is our own, see src/io/wav.ts).
declare module 'node-wav' {
  interface DecodedWav {
    sampleRate: number;
    channelData: Float32Array[];
  }
  interface EncodeOptions {
    sampleRate?: number;
    /** Bits per sample for PCM: 8, 16, 24 or 32 (default 16). */
    bitDepth?: number;
    /** Write 32-bit IEEE float instead of PCM. */
    float?: boolean;
  }
  const wav: {
    decode(buffer: Uint8Array | ArrayBuffer): DecodedWav;
    encode(channelData: ArrayLike<number>[], options: EncodeOptions): Buffer;
  };
  export default wav;
}
