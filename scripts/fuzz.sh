#!/usr/bin/env bash
# libFuzzer over the decoders of peer and disk bytes (Sources/weir-fuzz: Raft messages and
# log records, quota window updates and keys, policy entries and snapshots, peer frames).
# Builds an instrumented weir-fuzz in .build-fuzz, never in the default .build, then runs
# each target for a bounded time from its corpus in Tests/Fuzz/corpus/<target>/. An input
# that crashes is saved to Tests/Fuzz/crashes/<target>/, and FuzzCorpusTests replays it in
# the suite from then on: fix the decoder, keep the file.
#
#   FUZZ_TARGET_SECONDS=60      seconds per target
#   FUZZ_TARGETS="a b"          the targets to run (default all: weir-fuzz list)
#   FUZZ_KEEP_CORPUS=1          merge the inputs that found new coverage into the corpus
#                               in the repo (default: they stay in a temporary copy)
#   FUZZ_SANITIZER=fuzzer,address   what -sanitize= gets (fuzzer alone: 2-3x the executions, no ASan)
#
# Exits non-zero when any target crashed, timed out or ran out of memory.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_TARGET_SECONDS:-60}
sanitizer=${FUZZ_SANITIZER:-fuzzer,address}
scratch=.build-fuzz
binary=$scratch/debug/weir-fuzz
logs=$scratch/fuzz-logs
mkdir -p "$logs"

# -DWEIR_FUZZ makes weir-fuzz start libFuzzer's driver itself: SwiftPM links executables
# with --defsym main=<module>_main on Linux, so libFuzzer's own main never runs.
nice -n 10 swift build --scratch-path "$scratch" --product weir-fuzz \
  -Xswiftc "-sanitize=$sanitizer" -Xswiftc -DWEIR_FUZZ 2>&1 | grep -v "Cannot export local symbol" >&2

targets=${FUZZ_TARGETS:-$("$binary" list)}
# The inputs saved so far first: a crash already on file must be fixed before fuzzing on.
SWIFT_BACKTRACE=enable=no "$binary" replay-all Tests/Fuzz/corpus Tests/Fuzz/crashes >"$scratch/fuzz-replay.log" 2>&1 || {
  echo "fuzz: a saved input still fails; see $scratch/fuzz-replay.log (its last input line names it):" >&2
  tail -5 "$scratch/fuzz-replay.log" >&2
  exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/weir-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

failed=0
printf '%-22s %8s %12s %9s %7s %7s %8s\n' target seconds executions execs/s cov ft findings
for target in $targets; do
  corpus=Tests/Fuzz/corpus/$target
  crashes=Tests/Fuzz/crashes/$target
  [ -d "$corpus" ] || { echo "fuzz: no corpus at $corpus (weir-fuzz list names the targets)" >&2; exit 2; }
  mkdir -p "$crashes" "$work/$target"
  # New inputs go to a copy, so a run leaves the corpus in the repo as it was.
  cp "$corpus"/* "$work/$target/"
  dict=()
  [ -f "Tests/Fuzz/dict/$target.dict" ] && dict=("-dict=Tests/Fuzz/dict/$target.dict")
  before=$(find "$crashes" -type f ! -name '.*' ! -name 'README*' | wc -l)
  status=0
  # The Swift runtime's backtracer would stall a crash for half a minute; libFuzzer prints
  # the stack itself.
  WEIR_FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no nice -n 10 "$binary" \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "${dict[@]}" "$work/$target" >"$logs/$target.log" 2>&1 || status=$?
  after=$(find "$crashes" -type f ! -name '.*' ! -name 'README*' | wc -l)
  findings=$((after - before))
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$target.log" | tail -1)
  coverage=$(grep -E '^#[0-9]+' "$logs/$target.log" | grep -o 'cov: [0-9]*' | tail -1 | cut -d' ' -f2)
  features=$(grep -E '^#[0-9]+' "$logs/$target.log" | grep -o 'ft: [0-9]*' | tail -1 | cut -d' ' -f2)
  printf '%-22s %8s %12s %9s %7s %7s %8s\n' "$target" "$seconds" "${executions:--}" "${rate:--}" "${coverage:--}" "${features:--}" "$findings"
  if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ]; then
    failed=1
    echo "fuzz: $target exited $status with $findings new input(s) in $crashes/; the log is $logs/$target.log:" >&2
    grep -E 'ERROR|Fatal error|fuzz property|SUMMARY|Test unit written' "$logs/$target.log" | head -5 >&2 || true
  fi
  if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ]; then
    # Only the inputs that add coverage join the corpus.
    WEIR_FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no nice -n 10 "$binary" -merge=1 -max_len=65536 "$corpus" "$work/$target" \
      >>"$logs/$target.log" 2>&1
  fi
done
exit "$failed"
