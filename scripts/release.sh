#!/usr/bin/env bash
# release.sh: builds the release tarball fastresize-VERSION-linux-ARCH.tar.gz — a binary that needs no Swift toolchain, its server library, man page, completions, licences and install.sh.
#
#   scripts/release.sh [--out FOLDER] [--scratch-path PATH]
#
# Needs what the build needs (scripts/install-deps.sh) and a git checkout (the commit is built in).
# The Swift runtime and Foundation are linked in (-static-stdlib); the codec libraries stay Debian's
# shared ones, which install.sh installs with apt. LGPL libraries (libheif, libseccomp) stay
# dynamically linked, as their licence asks.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist
scratch=.build/release-static
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --scratch-path) scratch=$2; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "release.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

version=$(sed -n 's/^ *static let version = "\(.*\)"$/\1/p' Sources/fastresize/FastResizeCommand.swift)
[ -n "$version" ] || { echo "release.sh: cannot find the version in Sources/fastresize/FastResizeCommand.swift" >&2; exit 1; }
commit=$(git rev-parse --short=12 HEAD)
git diff --quiet HEAD -- Sources Package.swift || commit="$commit-modified"
arch=$(uname -m)
name="fastresize-$version-linux-$arch"

# One build of every product (the binary, the server library and the PostgreSQL driver) with the Swift runtime linked in.
flags=(-c release --scratch-path "$scratch" -Xswiftc -static-stdlib -Xcc "-DFR_COMMIT=\"$commit\"")
swift build "${flags[@]}"
bin=$(swift build "${flags[@]}" --show-bin-path)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
install -d "$root/bin" "$root/lib/fastresize" "$root/share/man/man1" "$root/share/bash-completion/completions" \
    "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"
install -m 755 -s "$bin/fastresize" "$root/bin/fastresize"
install -m 644 -s "$bin/libFastResizeServer.so" "$root/lib/fastresize/libFastResizeServer.so"
install -m 644 -s "$bin/libFastResizePostgresDriver.so" "$root/lib/fastresize/libFastResizePostgresDriver.so"

# Completions and the man page come from swift-argument-parser, from the command's own definition.
"$root/bin/fastresize" --generate-completion-script bash > "$root/share/bash-completion/completions/fastresize"
"$root/bin/fastresize" --generate-completion-script zsh > "$root/share/zsh/site-functions/_fastresize"
"$root/bin/fastresize" --generate-completion-script fish > "$root/share/fish/vendor_completions.d/fastresize.fish"
# The plugin builds the package with the same flags (nothing to rebuild) and reads the built binary.
rm -rf "$scratch/plugins/GenerateManual"
swift package "${flags[@]:2}" generate-manual --configuration release --authors "The FastResize authors" >/dev/null
install -m 644 "$(find "$scratch/plugins/GenerateManual" -name fastresize.1 -print -quit)" "$root/share/man/man1/fastresize.1"

# The Debian packages of every shared library the binaries load: linked, and opened on first use.
# (Whole outputs into variables, never a reader that stops early: pipefail would take its SIGPIPE.)
cache=$(ldconfig -p)
libraries=$( { ldd "$bin/fastresize" "$bin/libFastResizeServer.so" "$bin/libFastResizePostgresDriver.so" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'
               for soname in $(grep -rhoE '"lib[a-z0-9_]+\.so\.[0-9.]+"' Sources | tr -d '"' | sort -u); do
                   awk -v s="$soname" '$1 == s && /x86-64|aarch64|64bit/ && !found { print $NF; found = 1 }' <<< "$cache"
               done; } | sort -u)
packages=$(for library in $libraries; do dpkg -S "$(readlink -f "$library")" 2>/dev/null || dpkg -S "$library"; done \
           | cut -d: -f1 | sort -u)
# Data, not a library: Ghostscript's CMYK profile, for CMYK files that carry none.
packages=$(printf '%s\nlibgs-common\n' "$packages" | sort -u)
printf '%s\n' $packages > "$root/runtime-packages"

scripts/third-party-licenses.sh "$scratch" "$bin/fastresize" "$bin/libFastResizeServer.so" "$bin/libFastResizePostgresDriver.so" -- $packages > "$root/THIRD-PARTY-LICENSES"
cp README.md LICENSE "$root/"
install -m 755 scripts/install.sh "$root/install.sh"
echo "$version $commit" > "$root/VERSION"

mkdir -p "$out"
tar -C "$stage" --owner=0 --group=0 --numeric-owner -czf "$out/$name.tar.gz" "$name"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$out/$name.tar.gz"
