"""A run's reports and disk survive what happens to the run: killed, its
terminal gone, its output piped into `head`, a second Ctrl-C. Reports are
written as scenarios finish and replaced whole, never left truncated; a
killed run's world is removed by the next run; reproduce lines are
shell-quoted and progress lines carry no control characters."""
import json
import os
import pathlib
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ElementTree

import pytest

RMTFS = "/usr/bin/rmtfs"
pytestmark = pytest.mark.skipif(not os.path.exists(RMTFS), reason=f"{RMTFS} is not installed (ci/setup.sh installs it)")


def quick(name):
    return {"name": name, "description": "quick", "steps": [{"expect": {"service": True}}]}


def slow(name):
    # A message the daemon drops, waited for in full: about 3 s.
    return {"name": name, "description": "slow", "setup": {"modems": [{"request_timeout_ms": 3000}]},
            "steps": [{"raw": {"hex": "00 01 71", "full_wait": True, "expect": {"answered": False}}}]}


def write_all(directory, *bodies):
    directory.mkdir(parents=True, exist_ok=True)
    for body in bodies:
        (directory / f"{body['name']}.json").write_text(json.dumps(body))
    return directory


def reports_hold(json_path, junit_path, names, html_dir=None):
    report = json.loads(json_path.read_text())  # whole, valid JSON
    got = {s["name"] for s in report["scenarios"]}
    assert set(names) <= got, (names, got)
    suite = ElementTree.parse(junit_path).getroot()  # whole, valid XML
    cases = {c.get("name") for c in suite.iter("testcase")}
    assert set(names) <= cases, (names, cases)
    if html_dir is not None:
        page = (html_dir / "index.html").read_text()
        assert page.rstrip().endswith("</html>"), "the HTML page is whole"
        for name in names:
            assert name in page, (name, "not in the HTML report")
    return report


def wait_for_scenarios(json_path, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if json_path.exists():
            try:
                if len(json.loads(json_path.read_text())["scenarios"]) >= count:
                    return
            except json.JSONDecodeError:
                pytest.fail(f"{json_path} was seen half written")
        time.sleep(0.05)
    pytest.fail(f"{json_path} never held {count} scenarios")


@pytest.fixture
def short_tmpdir():
    """A TMPDIR short enough for the world's sockets, removed afterwards."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="rs-", dir="/tmp"))
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def start(rmtfs_hil, library, out, tmpdir, *extra):
    env = dict(os.environ, TMPDIR=str(tmpdir))
    return subprocess.Popen([str(rmtfs_hil), "run", str(library), "--json", str(out / "r.json"), "--junit",
                             str(out / "r.xml"), "--report", str(out / "html"), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGHUP", "second-ctrl-c"])
def test_reports_hold_every_finished_scenario_whatever_ends_the_run(rmtfs_hil, tmp_path, short_tmpdir, how):
    library = write_all(tmp_path / "lib", quick("a-first"), quick("b-second"), slow("c-slow"))
    out = tmp_path / "out"
    out.mkdir()
    run = start(rmtfs_hil, library, out, short_tmpdir)
    wait_for_scenarios(out / "r.json", 2)
    time.sleep(0.3)  # inside c-slow's wait
    if how == "SIGKILL":
        run.kill()
    elif how == "SIGHUP":
        run.send_signal(signal.SIGHUP)
    else:
        run.send_signal(signal.SIGINT)
        time.sleep(0.02)  # two at once would be one pending signal
        run.send_signal(signal.SIGINT)
    run.communicate(timeout=60)
    report = reports_hold(out / "r.json", out / "r.xml", ["a-first", "b-second"], out / "html")
    assert report["interrupted"], "a report of an unfinished run must say so"
    if how == "SIGHUP":
        assert run.returncode == 130  # stopped as for Ctrl-C, reports written
    elif how == "SIGKILL":
        assert run.returncode == -signal.SIGKILL
    else:
        # The second Ctrl-C ends the harness at once, unless the first one's
        # orderly stop was already done: either way the reports hold.
        assert run.returncode in (130, -signal.SIGINT), run.returncode
    if how != "SIGKILL":  # a kill mid-write may leave a partial file: the next run removes it
        for directory in (out, out / "html"):
            assert not [p for p in directory.iterdir() if p.name.startswith(".")], list(directory.iterdir())


def test_a_killed_runs_world_is_removed_by_the_next_run(rmtfs_hil, tmp_path, short_tmpdir):
    library = write_all(tmp_path / "lib", slow("slow"))
    out = tmp_path / "out"
    out.mkdir()
    run = start(rmtfs_hil, library, out, short_tmpdir)
    deadline = time.monotonic() + 30
    while not list(short_tmpdir.glob("rmtfs-hil-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = list(short_tmpdir.glob("rmtfs-hil-*"))
    assert left, "the run made no world"
    time.sleep(0.3)
    run.kill()
    run.communicate(timeout=30)
    assert all(p.exists() for p in left), "SIGKILL leaves the world behind (nothing can clean up)"
    kept = short_tmpdir / "rmtfs-hil-kept"  # no owner file: not the harness's to remove
    kept.mkdir()
    again = write_all(tmp_path / "again", quick("quick"))
    done = subprocess.run([str(rmtfs_hil), "run", str(again)], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, TMPDIR=str(short_tmpdir)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert not any(p.exists() for p in left), "the next run did not remove the killed run's world"
    assert kept.exists(), "a world without an owner was removed"


def test_output_piped_into_head_still_writes_whole_reports(rmtfs_hil, tmp_path):
    library = write_all(tmp_path / "lib", *(quick(f"q{i}") for i in range(4)))
    out = tmp_path / "out"
    out.mkdir()
    command = (f"'{rmtfs_hil}' run '{library}' --json '{out}/r.json' --junit '{out}/r.xml' --report '{out}/html'"
               " | head -c 10 >/dev/null; echo ${PIPESTATUS[0]}")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "0", result.stdout + result.stderr
    report = reports_hold(out / "r.json", out / "r.xml", [f"q{i}" for i in range(4)], out / "html")
    assert not report["interrupted"]


def test_reproduce_lines_are_shell_quoted_and_progress_has_no_control_characters(rmtfs_hil, tmp_path):
    directory = tmp_path / "it's \x1b[31mred"
    directory.mkdir()
    body = {"name": "wrong", "description": "fails", "steps": [{"expect": {"service": False}}]}
    path = directory / "wrong.json"
    path.write_text(json.dumps(body))
    result = subprocess.run([str(rmtfs_hil), "run", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "\x1b" not in result.stdout, "a control character reached the terminal"
    report_line = [line for line in result.stdout.splitlines() if line.strip().startswith("reproduce:")]
    assert report_line, result.stdout
    # The JSON report carries the command as it must be typed: run it.
    out = tmp_path / "r.json"
    subprocess.run([str(rmtfs_hil), "run", str(path), "--json", str(out)], capture_output=True, timeout=60)
    reproduce = json.loads(out.read_text())["scenarios"][0]["reproduce"]
    again = subprocess.run(["sh", "-c", reproduce], capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "FAIL wrong: step 1" in again.stdout, reproduce + "\n" + again.stdout + again.stderr
