"""pytest plugin for rmtfs-hil: fixtures that make rigs (the real rmtfs against
simulated modems, python/module.cpp) and always close them, so no daemon
outlives a test.

Use it with the built module on the path:

    PYTHONPATH=build/python:python /usr/bin/python3 -m pytest -p pytest_rmtfs_hil tests/

Fixtures:
    rmtfs_hil_module   the `rmtfs_hil` module
    make_rig           make_rig(**options) -> Rig: any RigOptions field by name
                       (coupling="mem-open", on_service_loss="reopen", ...);
                       closed after the test. Skips when the daemon is missing.
    started_rig        a rig with default options whose daemon runs and
                       publishes service 14, and whose modem has booted.

Options:
    --rmtfs-server PATH   the daemon under test (default /usr/bin/rmtfs)
"""
import os

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--rmtfs-server",
        default=os.environ.get("RMTFS_HIL_SERVER", "/usr/bin/rmtfs"),
        help="the rmtfs binary the rigs run (default /usr/bin/rmtfs, or $RMTFS_HIL_SERVER)",
    )


@pytest.fixture(scope="session")
def rmtfs_hil_module():
    try:
        import rmtfs_hil
    except ImportError as error:
        pytest.fail(f"the rmtfs_hil module is not importable ({error}): build it (ci/build.sh) and put "
                    "build/python on PYTHONPATH")
    return rmtfs_hil


@pytest.fixture
def make_rig(rmtfs_hil_module, request):
    server = request.config.getoption("--rmtfs-server")
    if not os.path.exists(server):
        pytest.skip(f"{server} is not installed (ci/setup.sh installs Debian's rmtfs)")
    made = []

    def _make(**settings):
        options = rmtfs_hil_module.RigOptions()
        options.server = server
        for name, value in settings.items():
            if not hasattr(options, name):
                raise TypeError(f"RigOptions has no option '{name}'")
            setattr(options, name, value)
        rig = rmtfs_hil_module.Rig(options)
        made.append(rig)
        return rig

    yield _make
    for rig in made:
        rig.close()


@pytest.fixture
def started_rig(make_rig):
    rig = make_rig()
    rig.start_daemon()
    assert rig.wait_for_service(), "service 14 never appeared\n" + rig.trace_text(60)
    boot = rig.boot_modem()
    assert boot.ok, boot.reason + "\n" + rig.trace_text(60)
    return rig
