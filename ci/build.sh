#!/usr/bin/env bash
# Configures and builds one or more CMake presets: default, sanitize, fuzz,
# aarch64 (the board agent, cross-built).
#   ci/build.sh [PRESET...]      (no preset: default)
# Under CI (CI=true) or with RMTFS_HIL_WERROR=ON, warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."

werror=OFF
if [[ "${CI:-}" == "true" || "${RMTFS_HIL_WERROR:-}" == "ON" ]]; then werror=ON; fi

presets=("$@")
if ((${#presets[@]} == 0)); then presets=(default); fi

for preset in "${presets[@]}"; do
  case "$preset" in
    default|sanitize|fuzz|aarch64) ;;
    *) echo "ci/build.sh: unknown preset '$preset' (default, sanitize, fuzz, aarch64)" >&2; exit 2 ;;
  esac
  echo "==> configure + build: $preset (warnings as errors: $werror)"
  cmake --preset "$preset" -DRMTFS_HIL_WERROR="$werror" >/dev/null
  cmake --build --preset "$preset"
done
