#!/usr/bin/env bash
# Sets up the machine, builds rmtfs-hil, and runs the distribution's real
# rmtfs in the emulated world: the RMTFS service appears in qrtr-lookup.
#   ci/quickstart.sh
# As the scenario library lands, this runs it against the installed rmtfs.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/setup.sh
ci/build.sh default
echo
echo "==> rmtfs-hil sandbox: the real rmtfs publishes service 14, qrtr-lookup lists it"
build/bin/rmtfs-hil sandbox -- sh -c '
  rmtfs -v -o "$RMTFS_HIL_STORAGE" -s &
  i=0; until qrtr-lookup 14 | grep -q "Remote file system"; do
    i=$((i+1)); [ $i -gt 100 ] && { echo "rmtfs never published its service" >&2; exit 1; }; sleep 0.1
  done
  qrtr-lookup
  echo "modem remoteproc: $(cat /sys/class/remoteproc/remoteproc0/state)"'
echo
echo "Next: build/bin/rmtfs-hil --help, and build/bin/rmtfs-hil help sandbox"
