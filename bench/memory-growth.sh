#!/usr/bin/env bash
# memory-growth.sh: peak RSS of one fastresize run over 50 and over 2,000 copies of a corpus photo
# (3082x2048 JPEG -> fit 320x320), from the report's own peak (VmHWM); the issue asks within 10%.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${FASTRESIZE_CORPUS:-$root/../shared/corpus}"
fastresize="${FASTRESIZE:-$root/.build/release/fastresize}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for count in 50 2000; do
    mkdir -p "$work/in$count"
    for i in $(seq 1 "$count"); do ln -s "$corpus/photos/hato.jpg" "$work/in$count/$i.jpg"; done
    "$fastresize" "$work/in$count" -o "$work/out$count" --fit 320x320 -q --follow-symlinks --report "$work/r$count.json"
    python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['summary']; print('%5d files: %d written in %.1f s, peak RSS %.1f MiB' % (int(sys.argv[2]), s['written'], s['seconds'], s['peak_rss_kib'] / 1024))" "$work/r$count.json" "$count"
done
