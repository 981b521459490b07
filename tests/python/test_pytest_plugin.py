"""The project's pytest plugin as a user loads it (`-p pytest_rmtfs_hil`), in
a pytest of its own: its fixtures make working rigs and close them."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

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


# ---------------------------------------------------------------------------
# Scenario files as test items.

def scenario(name, steps, **extra):
    body = {"name": name, "description": f"test scenario {name}", "steps": steps}
    body.update(extra)
    return body


DEV_ERROR_REQUEST = {"request": {"message": "GET_DEV_ERROR", "partition": "/boot/modem_fs1", "expect": {"result": 0}}}
# rmtfs 1.0 answers GET_DEV_ERROR of an open handle result=1: this fails.
FAILS = scenario("dev-error-answered-wrong", [DEV_ERROR_REQUEST], tags=["protocol"])
PASSES = scenario("service-is-there", [{"expect": {"service": True}}], tags=["smoke"])
KNOWN = scenario("dev-error-known", [DEV_ERROR_REQUEST], known_issue={
    "text": "rmtfs 1.0 inverts the handle check", "match": "result 1, expected 0", "step": 1})
# A known issue that does not show: the fix must show as XPASS(strict).
FIXED = scenario("fixed-known-issue", [{"expect": {"service": True}}], known_issue={
    "text": "a bug since fixed", "match": "anything"})
# Fails, but not as its known issue says: a real failure.
NEW_FAILURE = scenario("fails-otherwise", [DEV_ERROR_REQUEST], known_issue={
    "text": "another bug", "match": "a message that never comes"})
BOARD_ONLY = scenario("board-only", [{"expect": {"service": True}}], targets=["adb"])


def user_pytest(tmp_path, *args, bodies=(), cwd=None, timeout=300):
    """pytest in a process of its own, with the plugin as a user loads it (-p),
    over scenario files written to tmp_path/lib."""
    library = tmp_path / "lib"
    library.mkdir(exist_ok=True)
    for body in bodies:
        (library / f"{body['name']}.json").write_text(json.dumps(body, indent=2))
    env = dict(os.environ, PYTHONPATH=f"{build_dir().resolve() / 'python'}:{REPO / 'python'}")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "pytest_rmtfs_hil", "-p", "no:cacheprovider", "-rA",
                           *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd or tmp_path)


def test_each_scenario_is_an_item_with_verdicts_mapped(rmtfs_hil_module, tmp_path):
    ran = user_pytest(tmp_path, "lib", bodies=[FAILS, PASSES, KNOWN, FIXED, NEW_FAILURE, BOARD_ONLY])
    out = ran.stdout
    assert ran.returncode == 1, out + ran.stderr
    assert "PASSED lib/service-is-there.json::service-is-there" in out
    assert "SKIPPED [1] lib/board-only.json:1: not for target sim" in out, out
    assert "XFAIL lib/dev-error-known.json::dev-error-known - known issue: rmtfs 1.0 inverts the handle check" in out
    assert "FAILED lib/fixed-known-issue.json::fixed-known-issue" in out and "XPASS(strict)" in out
    assert "FAILED lib/fails-otherwise.json::fails-otherwise" in out
    assert "FAILED lib/dev-error-answered-wrong.json::dev-error-answered-wrong" in out
    assert "3 failed, 1 passed, 1 skipped, 1 xfailed" in out, out


def test_a_failure_shows_the_reason_the_step_the_trace_and_the_daemons_log(rmtfs_hil_module, tmp_path):
    ran = user_pytest(tmp_path, "lib", "--junitxml", str(tmp_path / "junit.xml"), bodies=[FAILS])
    out = ran.stdout
    assert ran.returncode == 1, out + ran.stderr
    assert "fail: step 1 (request, " in out and "result 1, expected 0" in out
    assert "failing step 1 (request) at " in out and "dev-error-answered-wrong.json:5:5" in out, out
    assert "the trace up to it (last " in out and "the daemon's log (last " in out
    assert "reproduce: rmtfs-hil run --server /usr/bin/rmtfs " in out
    assert "Traceback" not in out and "pybind11" not in out and "runtest" not in out, out
    case = ET.parse(tmp_path / "junit.xml").getroot().find(".//testcase[@name='dev-error-answered-wrong']")
    failure = case.find("failure")
    assert failure is not None and "result 1, expected 0" in (failure.get("message", "") + (failure.text or ""))


def test_k_and_markers_by_tag_select_scenarios(rmtfs_hil_module, tmp_path):
    by_name = user_pytest(tmp_path, "lib", "-k", "service", bodies=[FAILS, PASSES])
    assert by_name.returncode == 0 and "1 passed, 1 deselected" in by_name.stdout, by_name.stdout
    by_tag = user_pytest(tmp_path, "lib", "-m", "protocol", "-W", "error::pytest.PytestUnknownMarkWarning")
    assert by_tag.returncode == 1 and "1 failed, 1 deselected" in by_tag.stdout, by_tag.stdout


def test_a_malformed_scenario_is_a_collection_error_naming_the_place(rmtfs_hil_module, tmp_path):
    broken = {"name": "broken", "description": "x", "steps": [{"writ": {}}]}
    ran = user_pytest(tmp_path, "lib", bodies=[broken])
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "ERROR collecting lib/broken.json" in ran.stdout
    assert "broken.json:6:7: /steps/0/writ: unknown key 'writ'; did you mean 'write'?" in ran.stdout, ran.stdout
    # Other JSON files are not scenarios: left alone.
    (tmp_path / "lib" / "broken.json").unlink()
    (tmp_path / "lib" / "package.json").write_text('{"name": "x", "version": "1"}')
    assert "no tests ran" in user_pytest(tmp_path, "lib").stdout


def test_a_wrong_rmtfs_server_is_a_usage_error_not_a_green_skip(rmtfs_hil_module, tmp_path):
    ran = user_pytest(tmp_path, "lib", "--rmtfs-server", str(tmp_path / "no-rmtfs"), bodies=[PASSES])
    assert ran.returncode == 4, ran.stdout + ran.stderr
    assert f"--rmtfs-server {tmp_path / 'no-rmtfs'}: not an executable file" in ran.stderr


def test_the_library_through_pytest_gives_run_verdicts_also_with_xdist(rmtfs_hil_module, rmtfs_hil, tmp_path):
    """From the checkout (its conftest.py loads the plugin): one item per
    scenario, pass where `run` passes and xfail where it fails as known."""
    report = tmp_path / "run.json"
    subprocess.run([str(rmtfs_hil), "run", str(REPO / "scenarios"), "--jobs", "2", "--json", str(report), "-q"],
                   capture_output=True, timeout=600)
    results = json.loads(report.read_text())["scenarios"]
    passed = sum(r["verdict"] == "pass" for r in results)
    known = sum(r["known_status"] == "known" for r in results)
    assert passed + known == len(results), [r["name"] for r in results if r["verdict"] != "pass"]
    env = dict(os.environ, RMTFS_HIL_BUILD_DIR=str(build_dir().resolve()))
    runs = [[]]
    try:
        import xdist  # noqa: F401
        runs.append(["-n", "2"])
    except ImportError:
        pass  # Debian's python3-pytest-xdist (ci/setup.sh installs it)
    for extra in runs:
        ran = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "scenarios/", *extra],
                             capture_output=True, text=True, timeout=900, env=env, cwd=REPO)
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr
        assert f"{passed} passed, {known} xfailed" in ran.stdout.splitlines()[-1], (extra, ran.stdout[-500:])
    assert len(runs) == 2, "pytest-xdist is missing: ci/setup.sh installs python3-pytest-xdist"
