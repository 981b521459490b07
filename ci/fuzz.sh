#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time (default 20 s each).
#   ci/fuzz.sh [SECONDS]
# Each target starts from a corpus of valid messages plus every saved
# regression input. A crash input is copied into tests/fuzz/regressions/<target>/
# so that, once committed, every build replays it as a test; the script then
# fails.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "ci/fuzz.sh: SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi

ci/build.sh fuzz
work=build-fuzz/run
rm -rf "$work"
build-fuzz/bin/fuzz-seeds "$work/seeds" >/dev/null

status=0
for target in qrtr_packet qrtr_control qmi_message rmtfs_message scenario_loader; do
  corpus="$work/corpus/$target"
  artifacts="$work/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  if [[ -d "$work/seeds/$target" ]]; then cp "$work/seeds/$target"/* "$corpus"/; fi
  # The scenario loader starts from the scenario files (tests/scenarios/, scenarios/).
  if [[ "$target" == scenario_loader ]]; then find tests/scenarios scenarios -name '*.json' -exec cp -t "$corpus"/ {} +; fi
  cp tests/fuzz/regressions/"$target"/* "$corpus"/ 2>/dev/null || true
  echo "==> fuzz-$target for ${seconds}s"
  if build-fuzz/bin/fuzz-"$target" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$artifacts/" "$corpus" >"$work/$target.log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units)' "$work/$target.log" | head -2 | sed 's/^/    /'
  else
    status=1
    echo "    FAILED: fuzz-$target found an input that breaks it; log: $work/$target.log" >&2
    tail -25 "$work/$target.log" | sed 's/^/    /' >&2
    for crash in "$artifacts"/*; do
      [[ -f "$crash" ]] || continue
      cp "$crash" tests/fuzz/regressions/"$target"/
      echo "    saved $(basename "$crash") to tests/fuzz/regressions/$target/ — commit it with the fix" >&2
    done
  fi
done
exit "$status"
