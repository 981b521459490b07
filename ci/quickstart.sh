#!/usr/bin/env bash
# Sets up the machine, builds rmtfs-hil, and runs the scenario library against
# the distribution's real rmtfs: a verdict per scenario, a summary table, and
# an HTML report with a timeline of each run.
#   ci/quickstart.sh [--server PATH] [more `rmtfs-hil run` options]
# Exit status: that of `rmtfs-hil run` (0: every scenario passed or failed only
# as its known issue says; 1: something failed; see `rmtfs-hil help run`).
set -euo pipefail
cd "$(dirname "$0")/.."

ci/setup.sh
ci/build.sh default
echo
echo "==> rmtfs-hil run scenarios/ against $(command -v rmtfs || echo /usr/bin/rmtfs)"
status=0
build/bin/rmtfs-hil run scenarios/ --jobs 2 --report build/report "$@" || status=$?
echo
echo "Open build/report/index.html for the timelines, logs and ledger verdicts."
echo "Next: build/bin/rmtfs-hil --help; scenarios/README.md for the scenario format."
exit $status
