#!/usr/bin/env bash
# Rebuilds examples/: the small mixed batch the README's first command runs on.
# Everything in it is the project's own or public domain:
#   - sentences written for this project;
#   - speech synthesised from them with espeak-ng (GPL-3.0 program; its output is not covered) and sox;
#   - the NASA portrait of Eileen Collins, skimage/data/astronaut.png from Debian's python3-skimage
#     (public domain: "No known copyright restrictions", NASA Great Images), re-encoded and cropped.
# Needs: espeak-ng, sox, the python3-skimage .deb (apt-get download python3-skimage), node with sharp.
set -euo pipefail
cd "$(dirname "$0")/.."
out=examples
astronaut=${ASTRONAUT_PNG:-}
if [ -z "$astronaut" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download python3-skimage >/dev/null 2>&1 && dpkg -x python3-skimage_*.deb x)
  astronaut="$tmp/x/usr/lib/python3/dist-packages/skimage/data/astronaut.png"
fi
echo "$(sha256sum "$astronaut" | cut -d' ' -f1)  astronaut.png (expected 88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5)"
rm -rf "$out/calls" "$out/posts" "$out/photos" "$out/mixed"
mkdir -p "$out/calls" "$out/posts" "$out/photos" "$out/mixed"

say() { # say <text> <out.wav> [espeak options...]: 16 kHz mono 16-bit speech
  local text=$1 wav=$2
  shift 2
  espeak-ng "$@" -w "$wav.tmp.wav" "$text"
  sox "$wav.tmp.wav" -r 16000 -c 1 -b 16 "$wav" norm -3
  rm "$wav.tmp.wav"
}

# Text alone.
printf '%s\n' "I just got the job offer I have been waiting for all year. I can't stop smiling!" > "$out/posts/good-news.txt"
printf '%s\n' "Third time this week the train is cancelled without a word. I am absolutely fed up." > "$out/posts/commute.txt"
printf '%s\n' "We lost our old dog last night. The house feels so empty without him." > "$out/posts/goodbye.txt"
printf '%s\n' "Wait, the parcel arrived already? It was only ordered an hour ago!" > "$out/posts/parcel.txt"

# Speech alone (and one 44.1 kHz stereo clip: the reader resamples and mixes down).
say "Why did nobody tell me the meeting was moved? This is the second time!" "$out/calls/0001.wav" -s 185 -p 60 -a 160
say "Thank you so much, this is wonderful news, really wonderful." "$out/calls/0002.wav" -s 165 -p 70
espeak-ng -s 140 -p 35 -w "$out/calls/0003.tmp.wav" "I am sorry. I do not think I can come tomorrow. Everything is just too much right now."
sox "$out/calls/0003.tmp.wav" -r 44100 -c 2 -b 16 "$out/calls/0003.wav" norm -3
rm "$out/calls/0003.tmp.wav"

# Faces alone: the whole portrait (the detector finds the face) and a tight crop (used whole).
node --input-type=module -e "
import sharp from 'sharp';
const src = process.argv[1], out = process.argv[2];
await sharp(src).jpeg({ quality: 88 }).toFile(out + '/photos/astronaut.jpg');
await sharp(src).extract({ left: 150, top: 20, width: 140, height: 140 }).resize(96, 96).png().toFile(out + '/photos/astronaut-face.png');
await sharp(src).extract({ left: 130, top: 0, width: 180, height: 180 }).jpeg({ quality: 90 }).toFile(out + '/mixed/launch.jpg');
" "$astronaut" "$out"

# Several modalities in one sample: files that share a stem.
printf '%s\n' "We are go for launch. Years of training, and today we finally fly!" > "$out/mixed/launch.txt"
say "We are go for launch. Years of training, and today we finally fly!" "$out/mixed/launch.wav" -s 175 -p 65
printf '%s\n' "You promised you would fix it and you did not. I am really angry about this." > "$out/mixed/complaint.txt"
say "You promised you would fix it and you did not. I am really angry about this." "$out/mixed/complaint.wav" -s 190 -p 45 -a 170

echo "examples/ rebuilt: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1)"
