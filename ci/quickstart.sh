#!/usr/bin/env bash
# Sets up the machine, builds rmtfs-hil, and runs it.
#   ci/quickstart.sh
# Today that shows what the command line offers; as the scenario library
# lands, this runs it against the installed rmtfs.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/setup.sh
ci/build.sh default
echo
build/bin/rmtfs-hil --help
