#!/usr/bin/env bash
# make-fidelity-picture.sh: draws docs/fidelity.png, the README's before/after picture, from two
# corpus files, with a built fastresize and vips (Debian's libvips-tools) to set the panels side by side.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${FASTRESIZE_CORPUS:-$root/../shared/corpus}"
fastresize="${FASTRESIZE:-$root/.build/release/fastresize}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Brasseur's gamma test at half size: averaged in gamma space (what most tools do) and with --linear.
"$fastresize" "$corpus/color/gamma_dalai_lama_gray.jpg" -o "$work/gamma" --scale 0.5 --format png -q
"$fastresize" "$corpus/color/gamma_dalai_lama_gray.jpg" -o "$work/linear" --scale 0.5 --format png --linear -q
# A photo stored sideways with EXIF orientation 6: pixels as stored, and FastResize's default.
"$fastresize" "$corpus/orientation/Landscape_6.jpg" -o "$work/stored" --fit 129x111 --format png --no-auto-orient -q
"$fastresize" "$corpus/orientation/Landscape_6.jpg" -o "$work/upright" --fit 129x111 --format png -q

vips arrayjoin "$work/gamma/gamma_dalai_lama_gray.png $work/linear/gamma_dalai_lama_gray.png \
$work/stored/Landscape_6.png $work/upright/Landscape_6.png" "$work/joined.png" --across 4 --shim 16 --background 255 --halign centre --valign centre
vips copy "$work/joined.png" "$root/docs/fidelity.png[compression=9,strip]"
echo "wrote docs/fidelity.png"
