#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages FastResize builds against (as root, or through sudo).
set -euo pipefail

packages=(
    pkg-config
    libjpeg62-turbo-dev   # JPEG (libjpeg-turbo)
    libspng-dev           # PNG
    libwebp-dev           # WebP
    libheif-dev           # HEIC and AVIF decoding (LGPL: linked dynamically)
    libavif-dev           # AVIF encoding
    libtiff-dev           # TIFF
    libgif-dev            # GIF decoding
    libcgif-dev           # GIF encoding (MIT)
    libgd-dev             # GIF colour quantisation (opened at run time; libimagequant is GPL-3.0)
    liblcms2-dev          # ICC colour management
    libjxl-dev            # JPEG XL (BSD)
    libgs-common          # Ghostscript's default CMYK profile, for CMYK files that carry none
    libsqlite3-dev        # the job store (through GRDB)
    libxxhash-dev         # content hashes in the job store (BSD)
    libseccomp-dev        # the decoding workers' seccomp filter (LGPL-2.1: linked dynamically)
    zlib1g-dev
    libvips-tools         # tests only: vipsthumbnail is the oracle the fidelity tests compare with
    liblcms2-utils        # tests only: jpgicc, the oracle for profiles libvips 8.14 gets wrong
    strace                # tests only: shows that outputs are fsynced before they take their names
    prometheus            # tests only: promtool checks the metrics; a real server scrapes a watcher
    postgresql-15         # tests only: a throwaway server for the PostgreSQL job store's tests
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
