#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang++, ASan + UBSan, SINKHOST_FUZZ=ON) and runs
# each for a bounded time, starting from the committed corpus.
#   deploy/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]     (defaults: 60, build-fuzz)
# Fails when a target crashes, leaks, hangs on an input or breaks one of its invariants. The
# input that did it is left in BUILD_DIR/fuzz-artifacts/TARGET/: once the bug is fixed, commit it
# to tests/fuzz/corpus/TARGET/ so every build replays it (ctest fuzz_corpus_TARGET).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
seconds="${1:-60}"
build_dir="${2:-$root/build-fuzz}"
targets=(http_request settings append grpc)

cmake -S "$root" -B "$build_dir" -G Ninja -DSINKHOST_WERROR=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DSINKHOST_FUZZ=ON >/dev/null
cmake --build "$build_dir" --target "${targets[@]/#/sinkhost_fuzz_}" -- -j "$(nproc)"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
for target in "${targets[@]}"; do
  # New inputs the run finds go to a scratch directory; the committed corpus is only read.
  scratch="$build_dir/fuzz-corpus/$target"
  artifacts="$build_dir/fuzz-artifacts/$target"
  log="$build_dir/fuzz-$target.log"
  mkdir -p "$scratch" "$artifacts"
  echo "== fuzz $target for ${seconds}s" >&2
  if "$build_dir/bin/sinkhost_fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$scratch" "$root/tests/fuzz/corpus/$target" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    echo "   $target: $execs inputs, $rate per second, no failure" >&2
  else
    echo "   $target FAILED; the end of $log:" >&2
    tail -n 60 "$log" >&2
    ls -1 "$artifacts" >&2 || true
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failures in ${failed[*]}" >&2
  exit 1
fi
