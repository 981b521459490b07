"""`cmake --install`: a relocatable tree. Installed under a prefix and then
moved elsewhere, the program finds its preload shim and the scenario library
relative to itself, and so does the Python module (with its plugin), run from
another directory ("/" too) with no RMTFS_HIL_* variable set."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import build_dir

SCENARIO = "share/rmtfs-hil/scenarios/sigterm-clean-exit.json"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not os.path.exists("/usr/bin/rmtfs"):
        pytest.skip("/usr/bin/rmtfs is not installed (ci/setup.sh installs it)")
    base = tmp_path_factory.mktemp("install")
    ran = subprocess.run(["cmake", "--install", str(build_dir()), "--prefix", str(base / "first")],
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    moved = base / "moved"
    shutil.move(str(base / "first"), str(moved))
    return moved


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RMTFS_HIL_") and k != "PYTHONPATH"}
    env.update(extra)
    return env


def test_the_installed_program_runs_the_installed_library_from_anywhere(installed):
    program = installed / "bin" / "rmtfs-hil"
    assert (installed / "lib/rmtfs-hil/librmtfs_hil_shim.so").is_file()
    for cwd in ("/", str(installed.parent)):
        ran = subprocess.run([str(program), "run", str(installed / SCENARIO)], capture_output=True, text=True,
                             timeout=120, cwd=cwd, env=clean_env())
        assert ran.returncode == 0, (cwd, ran.stdout + ran.stderr)
        assert "1 passed" in ran.stdout
    # No PATH given: the installed library.
    ran = subprocess.run([str(program), "matrix", "--filter", "sigkill-mid-write-sector", "-q"], capture_output=True,
                         text=True, timeout=300, cwd="/", env=clean_env())
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "mem-open      | up, kept" in ran.stdout, ran.stdout


def test_the_installed_module_and_plugin_work_from_another_directory(installed, tmp_path):
    python_dir = installed / "lib/python3/dist-packages"
    if not any(python_dir.glob("rmtfs_hil*.so")):
        pytest.skip("this build has no Python module (a sanitizer build)")
    env = clean_env(PYTHONPATH=str(python_dir))
    ran = subprocess.run([sys.executable, "-c", "import rmtfs_hil, sys; "
                          f"r = rmtfs_hil.run_scenario({str(installed / SCENARIO)!r}); "
                          "print(rmtfs_hil.__file__, r.verdict, r.reason)"],
                         capture_output=True, text=True, timeout=120, cwd="/", env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.startswith(str(python_dir)) and " pass " in ran.stdout, ran.stdout
    library = tmp_path / "lib"
    library.mkdir()
    shutil.copy(installed / SCENARIO, library)
    ran = subprocess.run([sys.executable, "-m", "pytest", "-p", "pytest_rmtfs_hil", "-p", "no:cacheprovider", "-q",
                          str(library)], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed" in ran.stdout
