#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer target (address sanitizer on) and runs each fuzz target for a set time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]
#
# Targets: jpeg png webp gif tiff bmp avif heic (that format's probe and decode) and pipeline (the
# whole decode → resize → encode path); all of them by default, 60 s each. Seeds are the files of
# ../shared/corpus with the target's extensions (all of them for pipeline), when it is there.
# Inputs that crash, leak or hang land in .build/fuzz/crashes/; each one found becomes a regression
# input in Tests/FuzzRegressions/ (FuzzRegressionTests runs them all through the real binary).
# Debian's codec libraries are not instrumented: coverage guides through our own code, and the
# sanitizer sees memory errors in our code and in what the libraries do with memory we hand them.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jpeg png webp gif tiff bmp avif heic jxl pipeline)

FASTRESIZE_FUZZ=1 swift build --build-path .build/fuzz --product fastresize-fuzz \
    --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address
binary=.build/fuzz/debug/fastresize-fuzz
mkdir -p .build/fuzz/crashes

extensions() {
    case "$1" in
        jpeg) echo "jpg jpeg" ;;
        tiff) echo "tif tiff" ;;
        heic) echo "heic heif" ;;
        pipeline) echo "*" ;;
        *) echo "$1" ;;
    esac
}

total_crashes=0
for target in "${targets[@]}"; do
    seeds=.build/fuzz/corpus/$target
    mkdir -p "$seeds"
    if [ -d ../shared/corpus ]; then
        for extension in $(extensions "$target"); do
            find ../shared/corpus -type f -iname "*.$extension" ! -name MANIFEST.tsv ! -name README.md \
                -exec cp -n {} "$seeds/" \;
        done
    fi
    # The committed regression inputs are seeds too, so a fixed crash stays fixed.
    [ -d Tests/FuzzRegressions ] && cp -n Tests/FuzzRegressions/* "$seeds/" 2>/dev/null || true
    before=$(find .build/fuzz/crashes -name "$target-*" | wc -l)
    log=.build/fuzz/$target.log
    set +e
    FASTRESIZE_FUZZ_TARGET=$target "$binary" "$seeds" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 \
        -artifact_prefix=".build/fuzz/crashes/$target-" -print_final_stats=1 >"$log" 2>&1
    status=$?
    set -e
    after=$(find .build/fuzz/crashes -name "$target-*" | wc -l)
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    found=$((after - before))
    total_crashes=$((total_crashes + found))
    echo "$target: ${seconds}s, $runs inputs run, exit $status, $found new crash inputs (log: $log)"
done
echo "crash inputs found in this run: $total_crashes (in .build/fuzz/crashes/)"
