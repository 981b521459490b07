#!/usr/bin/env bash
# Sets up the machine and runs every test: both presets (optimised, and
# AddressSanitizer + UndefinedBehaviorSanitizer), the pytest suites, and a
# bounded fuzzing smoke run. Exits non-zero on any failure.
#   ci/test.sh
# RMTFS_HIL_FUZZ_SECONDS (default 20) sets the fuzzing time per target.
# RMTFS_HIL_SEED replays the random differential inputs of an earlier run.
set -uo pipefail
cd "$(dirname "$0")/.."

ci/setup.sh || exit 1

passed=0
failed=0
logs=build-logs
mkdir -p "$logs"
# What failed, with the lines that say why; printed again at the very end so
# that a reader of only the output's tail still learns it.
failures=()
note_failure() { failures+=("$1"); }

# Adds the closing counts of a ctest log ("... 2 tests failed out of 120") to
# the totals; a run that printed no such line counts as one failure.
count_ctest() {
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -1)
  if [[ -z "$line" ]]; then failed=$((failed + 1)); note_failure "$1: no ctest summary line"; return; fi
  local bad total
  bad=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + total - bad))
  failed=$((failed + bad))
}

for preset in default sanitize; do
  builddir=build; [[ "$preset" == sanitize ]] && builddir=build-sanitize
  if ! ci/build.sh "$preset"; then
    echo "ci/test.sh: build of preset $preset failed" >&2
    note_failure "build of preset $preset"
    failed=$((failed + 1))
    continue
  fi
  echo "==> ctest: $preset"
  ctest --preset "$preset" -j2 >"$logs/ctest-$preset.log" 2>&1
  grep -E '(\*\*\*Failed|Failed  |Not Run|Exception|tests passed)' "$logs/ctest-$preset.log" | sed 's/^/    /'
  count_ctest "$logs/ctest-$preset.log"
  while IFS= read -r line; do note_failure "ctest $preset: $line"; done \
    < <(grep -E '^[[:space:]]+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Not Run|Exception|Subprocess)' "$logs/ctest-$preset.log")
  grep -h '^\[ libqrtr \]' "$builddir/Testing/Temporary/LastTest.log" | sed "s/^/    [$preset] /"
done

# The board agent: rmtfs-hil cross-built for aarch64, static; the pytest
# suites run it under qemu-user (tests/python/test_agent_aarch64.py).
if ci/build.sh aarch64; then passed=$((passed + 1)); else
  echo "ci/test.sh: build of the aarch64 agent failed" >&2
  note_failure "build of preset aarch64"
  failed=$((failed + 1))
fi

for builddir in build build-sanitize; do
  echo "==> pytest (/usr/bin/python3) against $builddir"
  RMTFS_HIL_BUILD_DIR="$PWD/$builddir" /usr/bin/python3 -m pytest -q -rfE -p no:cacheprovider tests/python \
    >"$logs/pytest-$builddir.log" 2>&1
  py_rc=$?
  sed 's/^/    /' "$logs/pytest-$builddir.log" | tail -15
  py_pass=$(tail -1 "$logs/pytest-$builddir.log" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)
  py_fail=$(tail -1 "$logs/pytest-$builddir.log" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || true)
  passed=$((passed + ${py_pass:-0}))
  failed=$((failed + ${py_fail:-0}))
  if ((py_rc != 0 && ${py_fail:-0} == 0)); then failed=$((failed + 1)); fi
  if ((py_rc != 0)); then
    note_failure "pytest against $builddir (exit $py_rc):"
    while IFS= read -r line; do note_failure "  $line"; done \
      < <(grep -E '^(FAILED|ERROR) ' "$logs/pytest-$builddir.log" | cut -c1-400)
  fi
done

mkdir -p "$logs"
for builddir in build build-sanitize; do
  echo "==> the scenario library with $builddir/bin/rmtfs-hil against the installed rmtfs (known issues reported, not fatal)"
  # stderr apart: its lines (a sanitizer's report, why the run ended) would
  # otherwise land above the buffered summary and out of the tail shown here.
  $builddir/bin/rmtfs-hil run scenarios/ --jobs 2 --junit "$logs/scenarios-$builddir.junit.xml" \
       --json "$logs/scenarios-$builddir.json" --report "$logs/scenario-report-$builddir" \
       >"$logs/scenarios-$builddir.log" 2>"$logs/scenarios-$builddir.err"
  rc=$?
  sed 's/^/    /' "$logs/scenarios-$builddir.log" | tail -60
  if ((rc == 0)); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "    exit status $rc; its stderr ($logs/scenarios-$builddir.err) ends:"
    tail -40 "$logs/scenarios-$builddir.err" | sed 's/^/    /'
    note_failure "the scenario library with $builddir: exit $rc: $(tail -1 "$logs/scenarios-$builddir.err")"
  fi
done

echo "==> benchmarks (figures only; no time is asserted)"
mkdir -p "$logs"
for bench in "fabric_roundtrip --iterations 20000" "image_read --runs 5" "qmi_roundtrip --iterations 5000" \
             "harness_memory" "library_run"; do
  name=${bench%% *}
  if build/bin/$bench >"$logs/bench-$name.json" 2>"$logs/bench-$name.err"; then
    sed 's/^/    /' "$logs/bench-$name.json"
    passed=$((passed + 1))
  else
    echo "    $name failed:" >&2
    sed 's/^/    /' "$logs/bench-$name.err" >&2
    note_failure "benchmark $name: $(tail -3 "$logs/bench-$name.err" | tr '\n' ' ')"
    failed=$((failed + 1))
  fi
done

echo "==> fuzzing smoke run"
if ci/fuzz.sh "${RMTFS_HIL_FUZZ_SECONDS:-20}"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); note_failure "fuzzing smoke run"
fi

if ((${#failures[@]})); then
  echo "==> what failed (logs in $logs/)"
  printf '    %s\n' "${failures[@]}"
fi
echo "ci/test.sh: $passed passed, $failed failed"
((failed == 0))
