"""The project's pytest plugin as a user loads it (`-p pytest_rmtfs_hil`), in
a pytest of its own: its fixtures make working rigs and close them."""
import os
import subprocess
import sys

from conftest import REPO, build_dir

USER_TESTS = '''
import pytest

def test_a_started_rig_takes_a_write(started_rig):
    assert started_rig.write(partition=0, sector=1, data=bytes(512)).outcome == "ok"
    assert started_rig.check_storage() == []

def test_make_rig_takes_options_by_name(make_rig):
    rig = make_rig(coupling="service-watch")
    rig.start_daemon()
    assert rig.wait_for_boot().ok

def test_an_unknown_option_is_named(make_rig):
    with pytest.raises(TypeError, match="no option 'bogus'"):
        make_rig(bogus=1)
'''


def test_the_plugin_works_in_a_users_pytest(rmtfs_hil_module, tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    env = dict(os.environ, PYTHONPATH=f"{build_dir().resolve() / 'python'}:{REPO / 'python'}")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "pytest_rmtfs_hil", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
