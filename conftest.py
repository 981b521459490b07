"""From a checkout, pytest finds the project's plugin (python/pytest_rmtfs_hil.py)
and the built module (build/python/, or $RMTFS_HIL_BUILD_DIR/python) here, so
`/usr/bin/python3 -m pytest scenarios/` runs the scenario library as tests. An
installed rmtfs-hil registers the plugin through its pytest11 entry point."""
import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent
_build = pathlib.Path(os.environ.get("RMTFS_HIL_BUILD_DIR", REPO / "build"))
for _path in (_build / "python", REPO / "python"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

pytest_plugins = ["pytest_rmtfs_hil"]
