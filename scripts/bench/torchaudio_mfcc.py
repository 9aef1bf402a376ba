#!/usr/bin/python3
"""Reference speed of torchaudio's MFCC + delta + delta2, measured like emoflow's `benchMfcc`.

Usage: torchaudio_mfcc.py <file.wav> [--runs 7]

One thread (torch.set_num_threads(1)), float32, waveform already decoded and at 16 kHz (decode
and any resampling are outside the timing), one warm-up, then the median of `runs` timed runs of
MFCC (settings of ../shared/fixtures/mfcc/SPEC.md §4) + compute_deltas twice (§5).
Prints one JSON line: {"stage", "seconds", "audioSeconds", "audioSecondsPerSecond", "runs", ...}.
"""

import argparse
import json
import statistics
import time

import torch
import torchaudio


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wav")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()

    torch.set_num_threads(1)
    waveform, sr = torchaudio.load(args.wav)  # float32 in [-1, 1), [channels, samples]
    waveform = waveform.mean(dim=0, keepdim=True)
    if sr != 16000:
        waveform = torchaudio.functional.resample(waveform.double(), sr, 16000).float()
    audio_seconds = waveform.shape[1] / 16000

    mfcc = torchaudio.transforms.MFCC(
        sample_rate=16000,
        n_mfcc=13,
        dct_type=2,
        norm="ortho",
        log_mels=True,
        melkwargs=dict(
            n_fft=400,
            win_length=400,
            hop_length=160,
            f_min=0.0,
            f_max=8000.0,
            n_mels=40,
            window_fn=torch.hann_window,
            power=2.0,
            center=True,
            pad_mode="reflect",
            norm=None,
            mel_scale="htk",
        ),
    )

    def once() -> int:
        with torch.inference_mode():
            c = mfcc(waveform)
            d = torchaudio.functional.compute_deltas(c, win_length=5, mode="replicate")
            d2 = torchaudio.functional.compute_deltas(d, win_length=5, mode="replicate")
        return int(d2.shape[-1])

    frames = once()  # warm-up
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    print(
        json.dumps(
            {
                "stage": "mfcc",
                "impl": "torchaudio",
                "torch": torch.__version__,
                "torchaudio": torchaudio.__version__,
                "threads": torch.get_num_threads(),
                "frames": frames,
                "audioSeconds": audio_seconds,
                "seconds": seconds,
                "audioSecondsPerSecond": audio_seconds / seconds,
                "runs": times,
            }
        )
    )


if __name__ == "__main__":
    main()
