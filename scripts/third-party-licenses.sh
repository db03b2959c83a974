#!/usr/bin/env bash
# third-party-licenses.sh: writes THIRD-PARTY-LICENSES for a release — every library linked into the binaries or loaded by them, with its licence and its full text.
#
#   scripts/third-party-licenses.sh SCRATCH_PATH BINARY... -- DEBIAN_PACKAGE...
#
# SCRATCH_PATH is the release build's (its checkouts hold the Swift packages); a package is
# compiled in when a module of its has symbols in the binaries (unstripped ones); the Debian packages
# are those of the shared libraries the binaries load (scripts/release.sh finds them with ldd).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$1
shift
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
# Every symbol the binaries define: a Swift module's start with $s, its name's length, its name.
while [ $# -gt 0 ] && [ "$1" != -- ]; do nm --defined-only "$1" | awk '{ print $NF }' >> "$workdir/symbols"; shift; done
shift

# A licence's usual name from the first lines of its text.
licence_name() {
    local head
    head=$(head -c 3000 "$1")
    case "$head" in
        *"Runtime Library Exception"*) echo "Apache-2.0 WITH Swift-exception" ;;
        *"Apache License"*) echo "Apache-2.0" ;;
        *"MIT License"*|*"Permission is hereby granted, free of charge"*) echo "MIT" ;;
        *"Redistribution and use in source and binary forms"*) echo "BSD" ;;
        *) echo "see its text below" ;;
    esac
}

# A resolved package's version, from Package.resolved (pretty-printed JSON, one key a line).
package_version() {
    awk -v id="$1" '
        /"identity"/ { gsub(/[",]/, "", $3); current = $3 }
        /"version"/ && current == id { gsub(/[",]/, "", $3); print $3; exit }
    ' Package.resolved
}

cat <<'EOF'
Third-party software in FastResize
==================================

FastResize itself is under the Apache License 2.0 (LICENSE). Its binary and its server library
contain, or load at run time, the software below, each under its own licence, whose full text
follows the lists. The Debian libraries are not part of this tarball: install.sh installs them
with apt, and they stay dynamically linked (libheif and libseccomp are LGPL).

EOF

echo "Compiled in"
echo "-----------"
texts=()
swift_licence=/opt/swift/usr/share/swift/LICENSE.txt
[ -r "$swift_licence" ] || swift_licence=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/share/swift/LICENSE.txt
printf '  %-36s %-16s %s\n' "Swift runtime, Foundation, Dispatch" "$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([0-9.]*\).*/\1/p')" \
    "Apache-2.0 WITH Swift-exception (-static-stdlib)"
printf '  %-36s %-16s %s\n' "  ICU (in swift-foundation-icu)" "" "Unicode-3.0 (https://www.unicode.org/license.txt)"
texts+=("Swift runtime and Foundation|$swift_licence")
# A package is compiled in when a Swift module of its (its sources under checkouts/PACKAGE/, as
# the build's list of them says) has symbols in the binaries.
for module in "$scratch"/release/*.build; do
    name=$(basename "$module" .build)
    [ -r "$module/sources" ] && grep -qF -- "\$s${#name}$name" "$workdir/symbols" || continue
    sed -n "s|^$scratch/checkouts/\([^/]*\)/.*|\1|p" "$module/sources"
done | sort -u > "$workdir/linked"
for checkout in "$scratch"/checkouts/*/; do
    package=$(basename "$checkout")
    grep -qxF "$package" "$workdir/linked" || continue
    licence=$(find "$checkout" -maxdepth 1 -iname 'LICEN[CS]E*' -print -quit)
    [ -n "$licence" ] || { echo "third-party-licenses.sh: $package has no licence file" >&2; exit 1; }
    printf '  %-36s %-16s %s\n' "$package" "$(package_version "$(echo "$package" | tr '[:upper:]' '[:lower:]')")" "$(licence_name "$licence")"
    texts+=("$package|$licence")
    # Vendored C and C++ under their own terms, which their packages' licence files do not carry.
    if [ -r "$checkout"Sources/CTOML/Sources/toml.hpp ]; then
        header="$checkout"Sources/CTOML/Sources/toml.hpp
        printf '  %-36s %-16s %s\n' "  toml++ (in $package)" "$(sed -n 's|^// toml++ v\([0-9.]*\)$|\1|p' "$header")" "MIT"
        # Its licence is the comment block from "MIT License" to the next rule.
        sed -n '/^\/\/ MIT License/,/^\/\/---/p' "$header" | sed '$d; s|^// \{0,1\}||' > "$workdir/toml++"
        texts+=("toml++ (in $package)|$workdir/toml++")
    fi
    if [ -d "$checkout"Sources/CYaml ]; then
        printf '  %-36s %-16s %s\n' "  libyaml (in $package)" "" "MIT (Copyright 2006-2020 Kirill Simonov; text as $package's)"
    fi
done

echo
echo "Loaded from Debian's packages (shared libraries; every licence its copyright file names,"
echo "build scripts and tests included)"
echo "-----------------------------------------------------------------------------------------"
for package in "$@"; do
    copyright=/usr/share/doc/$package/copyright
    [ -r "$copyright" ] || { echo "third-party-licenses.sh: $copyright is missing" >&2; exit 1; }
    # Machine-readable copyright files name each licence on a License: line.
    names=$(sed -n 's/^License: *\([^ ].*\)$/\1/p' "$copyright" | sort -u | paste -sd ',' | sed 's/,/, /g')
    printf '  %-36s %-16s %s\n' "$package" "$(dpkg-query -W -f='${Version}' "$package")" "${names:-see its text below}"
    texts+=("$package (Debian: $copyright)|$copyright")
done

for entry in "${texts[@]}"; do
    echo
    echo "=============================================================================="
    echo "${entry%%|*}"
    echo "=============================================================================="
    cat "${entry#*|}"
done
