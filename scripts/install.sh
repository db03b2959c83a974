#!/bin/sh
# install.sh: installs this FastResize release (the unpacked tarball around it) under a prefix; on Debian, first the codec libraries it runs with.
#
#   ./install.sh [--prefix PREFIX] [--no-packages]   install (PREFIX: /usr/local)
#   ./install.sh [--prefix PREFIX] --uninstall       remove what an install put there
#
# On Debian and Ubuntu the runtime packages listed in runtime-packages (libjpeg62-turbo, libwebp7,
# libheif1, … — never the -dev ones) are installed with apt first, as root or through sudo.
# Elsewhere, or with --no-packages, install them yourself: `fastresize --version` says what it found.
set -eu

prefix=/usr/local
packages=yes
action=install
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a folder" >&2; exit 2; }; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --no-packages) packages=no; shift ;;
        --uninstall) action=uninstall; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
here=$(cd "$(dirname "$0")" && pwd)

# What an install puts under the prefix, relative to it (the tarball's own layout).
files="bin/fastresize
lib/fastresize/libFastResizeServer.so
lib/fastresize/libFastResizePostgresDriver.so
share/man/man1/fastresize.1
share/bash-completion/completions/fastresize
share/zsh/site-functions/_fastresize
share/fish/vendor_completions.d/fastresize.fish
share/doc/fastresize/README.md
share/doc/fastresize/LICENSE
share/doc/fastresize/THIRD-PARTY-LICENSES"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "install.sh: $1 needs root, and there is no sudo" >&2; exit 1
    fi
}

if [ "$action" = uninstall ]; then
    for file in $files; do rm -f "$prefix/$file"; done
    rmdir "$prefix/lib/fastresize" "$prefix/share/doc/fastresize" 2>/dev/null || true
    echo "removed FastResize from $prefix"
    exit 0
fi

if [ "$packages" = yes ] && [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
    missing=""
    for package in $(cat "$here/runtime-packages"); do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
    done
    if [ -n "$missing" ]; then
        echo "installing the libraries FastResize runs with:$missing"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
fi

for file in $files; do
    source=$here/$file
    case "$file" in share/doc/fastresize/*) source=$here/${file#share/doc/fastresize/} ;; esac
    mode=644
    [ "$file" = bin/fastresize ] && mode=755
    mkdir -p "$prefix/$(dirname "$file")"
    # A new file renamed over the old: a running fastresize keeps the one it started with.
    cp "$source" "$prefix/$file.new"
    chmod "$mode" "$prefix/$file.new"
    mv -f "$prefix/$file.new" "$prefix/$file"
done

# The binary must run here: a library missing (not Debian, or --no-packages) shows now.
if ! "$prefix/bin/fastresize" --version >/dev/null 2>&1; then
    echo "install.sh: $prefix/bin/fastresize is installed but does not run:" >&2
    ldd "$prefix/bin/fastresize" 2>&1 | grep "not found" >&2 || "$prefix/bin/fastresize" --version >&2 || true
    echo "install.sh: install the libraries listed in $here/runtime-packages (Debian names)" >&2
    exit 1
fi
command -v mandb >/dev/null 2>&1 && mandb -q "$prefix/share/man" >/dev/null 2>&1 || true
echo "installed $("$prefix/bin/fastresize" --version | head -1) into $prefix"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "note: $prefix/bin is not on your PATH" ;; esac
