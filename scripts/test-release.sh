#!/usr/bin/env bash
# test-release.sh: installs a release tarball into a fresh Debian 12 root file system (debootstrap, chroot; no Swift there) and checks that every format, the man page, the completions, the server library and the sandbox work.
#
#   sudo scripts/test-release.sh dist/fastresize-VERSION-linux-x86_64.tar.gz
#
# Needs root, debootstrap and the network to Debian's mirror (apt-get install debootstrap).
# Takes 3–5 minutes: most of it is debootstrap and apt inside the new root.
set -euo pipefail
cd "$(dirname "$0")/.."
tarball=$(readlink -f "${1:?usage: test-release.sh TARBALL}")
[ "$(id -u)" -eq 0 ] || { echo "test-release.sh: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "test-release.sh: needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }

work=$(mktemp -d /tmp/fastresize-release-test.XXXXXX)
root=$work/root
cleanup() {
    for mount in "$root/dev/pts" "$root/proc"; do mountpoint -q "$mount" && umount "$mount"; done
    # Never remove a tree with something still mounted in it.
    if ! grep -q " $root/" /proc/mounts; then rm -rf "$work"; else echo "test-release.sh: left $work (still mounted)" >&2; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "debootstrap: a minimal Debian 12 in $root"
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
mount -t proc proc "$root/proc"
mount -t devpts devpts "$root/dev/pts"   # apt and dpkg log through a pseudo-terminal
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

step "inputs: one file of every format FastResize reads, made here from the samples"
# Made with the release's own binary (and vips for TIFF and HEIC, which it does not write).
host=$work/host
mkdir -p "$host" "$root/inputs"
tar -xzf "$tarball" -C "$host"
bin=$(echo "$host"/fastresize-*/bin/fastresize)
cp samples/mandelbrot.jpg samples/bubbles.png samples/more/rings.webp samples/more/mandelbrot-small.bmp "$root/inputs/"
for format in gif avif jxl; do
    "$bin" samples/mandelbrot.jpg -o "$work/made-$format" --format "$format" --fit 400x400 --no-state --quiet
    cp "$work/made-$format"/mandelbrot.* "$root/inputs/made-$format.$format"
done
vips copy samples/bubbles.png "$root/inputs/made-tiff.tif"
vips heifsave samples/mandelbrot.jpg "$root/inputs/made-heic.heic" --compression hevc
ls "$root/inputs"

step "install: unpack the tarball in the new root and run its install.sh"
cp "$tarball" "$root/tmp/"
in_root sh -c "cd /tmp && tar -xzf $(basename "$tarball") && ./fastresize-*/install.sh"
if in_root sh -c 'command -v swift'; then echo "FAIL: the new root has a Swift toolchain" >&2; exit 1; fi

step "--version: the commit and the codec libraries"
in_root fastresize --version

step "every output format from every input format"
for format in jpeg png webp avif gif jxl; do
    in_root fastresize /inputs -o "/out-$format" --format "$format" --fit 200x200 --report "/out-$format.json" --quiet
    count=$(find "$root/out-$format" -type f -not -path '*/.fastresize/*' | wc -l)
    inputs=$(ls "$root/inputs" | wc -l)
    [ "$count" -eq "$inputs" ] || { echo "FAIL: $format: $count outputs for $inputs inputs" >&2; exit 1; }
    echo "$format: $count outputs"
done

step "isolated, sandboxed decoding; the metrics server from lib/fastresize"
in_root fastresize /inputs -o /out-sandboxed --isolate all --sandbox on --fit 100x100 --quiet --no-state
in_root fastresize /inputs -o /out-plain --isolate none --sandbox off --fit 100x100 --quiet --no-state
diff -r "$root/out-plain" "$root/out-sandboxed" && echo "sandboxed outputs are the same bytes"
in_root fastresize /inputs -o /out-metrics --fit 100x100 --no-state --metrics-listen 127.0.0.1:0 --quiet

step "man fastresize and the bash completion, as a user would have them"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends man-db bash-completion >/dev/null
in_root sh -c 'MANPAGER=cat man fastresize' | grep -q -- '--fit' || { echo "FAIL: man fastresize has no --fit" >&2; exit 1; }
in_root bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader fastresize; complete -p fastresize' \
    | grep -q fastresize || { echo "FAIL: bash does not complete fastresize" >&2; exit 1; }
for file in share/zsh/site-functions/_fastresize share/fish/vendor_completions.d/fastresize.fish; do
    [ -s "$root/usr/local/$file" ] || { echo "FAIL: $file missing" >&2; exit 1; }
done

step "uninstall"
in_root sh -c 'cd /tmp && ./fastresize-*/install.sh --uninstall'
[ ! -e "$root/usr/local/bin/fastresize" ] || { echo "FAIL: uninstall left the binary" >&2; exit 1; }

step "the release installs and works on a fresh Debian 12 without Swift"
