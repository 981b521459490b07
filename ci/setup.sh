#!/usr/bin/env bash
# Installs every Debian package rmtfs-hil builds, tests or runs against.
# Idempotent: when every package is already installed it changes nothing and
# touches no network.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # libraries the project links
  libboost-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  # real peers: the server under test, QRTR tools and the library they share
  rmtfs qrtr-tools libqrtr-dev
  # the emulated device world: umockdev's preload for sysfs/dev, libudev for
  # the probe that checks it, coreutils' stdbuf for line-buffered daemon logs
  umockdev libudev-dev coreutils
  # python side (Debian's interpreter, not whatever python3 is first on PATH;
  # xdist for pytest -n, mypy for the module's type stubs)
  python3 python3-dev python3-pytest python3-pytest-xdist python3-pybind11 pybind11-dev mypy
  # scenario files checked against their JSON Schema; the HTML report rendered
  # in a real headless browser
  python3-jsonschema chromium
  # real boards: the real adb client and server; the board agent cross-built
  # for aarch64 and run under qemu-user
  adb g++-aarch64-linux-gnu qemu-user-static
  # LAVA lab integration (hil/lava): LAVA's own schemas check the test
  # definitions and job templates, and LAVA's dispatcher (lava-run) runs the
  # test definitions against this machine as an ssh device, served by
  # dropbear (Debian's scp needs an sftp-server on the far side); the
  # definitions fetch the agent with curl
  lava-common lava-dispatcher dropbear-bin openssh-sftp-server curl
)

missing=()
for p in "${packages[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "ci/setup.sh: all ${#packages[@]} packages present"
  exit 0
fi

echo "ci/setup.sh: installing ${missing[*]}"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

# LAVA's dispatcher comes with a worker service that, on a machine booted
# with systemd, starts and waits for a LAVA server. A lab's own worker is left
# alone; one this script just installed (for the tests) is stopped and disabled.
if [[ " ${missing[*]} " == *" lava-dispatcher "* && -d /run/systemd/system ]]; then
  "${SUDO[@]}" systemctl disable --now lava-worker.service >/dev/null 2>&1 || true
  echo "ci/setup.sh: disabled lava-worker.service (installed for the tests, not to serve a lab)"
fi
