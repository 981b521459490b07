"""`rmtfs-hil run`, `validate` and `matrix` as a user drives them: verdicts and
their exit statuses, progress and summary, the reports, the reproduce line,
known issues, --filter / --seed / --jobs, bad input, and Ctrl-C."""
import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
from processes import daemon_pids_of



def scenario(name, steps, **extra):
    body = {"name": name, "description": f"test scenario {name}", "steps": steps}
    body.update(extra)
    return body


PASSING = scenario(
    "writes-land",
    [
        {"write": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "a"}}},
        {"read": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "a"}}},
        {"expect": {"storage": [{"file": "modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "a"}}]}},
    ],
    tags=["smoke"],
)

# rmtfs 1.0 answers GET_DEV_ERROR for a valid handle with a failure: a correct
# server answers success.
DEV_ERROR = scenario(
    "dev-error-of-an-open-handle",
    [{"request": {"message": "GET_DEV_ERROR", "partition": "/boot/modem_fs1", "expect": {"result": 0}}}],
    tags=["protocol"],
)


def write_scenarios(directory, *bodies):
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for body in bodies:
        path = directory / f"{body['name']}.json"
        path.write_text(json.dumps(body, indent=2))
        paths.append(path)
    return paths


def test_a_passing_scenario_exits_0_with_progress_summary_and_reports(run, tmp_path, needs_rmtfs):
    (path,) = write_scenarios(tmp_path / "lib", PASSING)
    junit, js, report = tmp_path / "r.xml", tmp_path / "r.json", tmp_path / "html"
    result = run("run", str(path), "--junit", str(junit), "--json", str(js), "--report", str(report), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[1/1] pass   writes-land" in result.stdout
    assert "1 scenario" in result.stdout and "1 passed" in result.stdout
    data = json.loads(js.read_text())
    (entry,) = data["scenarios"]
    assert entry["verdict"] == "pass" and entry["ledger_verdict"].startswith("clean: 1 writes")
    assert any(t["kind"] == "log" for t in entry["trace"]), "the daemon's log is part of the trace"
    suite = ET.parse(junit).getroot()
    assert suite.find(".//testcase").get("name") == "writes-land"
    assert (report / "index.html").read_text().count("<svg") >= 1


def test_a_failing_scenario_exits_1_and_prints_the_command_that_reproduces_it(run, tmp_path, needs_rmtfs):
    (path,) = write_scenarios(tmp_path / "lib", DEV_ERROR)
    junit = tmp_path / "r.xml"
    result = run("run", str(path), "--junit", str(junit), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL" in result.stdout
    assert "result 1, expected 0" in result.stdout
    reproduce = [line for line in result.stdout.splitlines() if "reproduce:" in line]
    assert reproduce and str(path) in reproduce[0] and "--server /usr/bin/rmtfs" in reproduce[0]
    failure = ET.parse(junit).getroot().find(".//failure")
    assert failure is not None and "result 1, expected 0" in failure.get("message")
    assert "[RMTFS]" in ET.parse(junit).getroot().find(".//system-out").text, "the daemon's log is in the report"
    # The printed command reproduces the verdict.
    argv = reproduce[0].split("reproduce:", 1)[1].split()
    again = run(*argv[1:], timeout=120)
    assert again.returncode == 1 and "result 1, expected 0" in again.stdout


def test_a_known_issue_is_reported_but_does_not_fail_the_run_unless_strict(run, tmp_path, needs_rmtfs):
    known = dict(DEV_ERROR)
    known["known_issue"] = {
        "text": "rmtfs 1.0 inverts the handle check of GET_DEV_ERROR",
        "observed": "fail",
        "match": "result 1, expected 0",
    }
    (path,) = write_scenarios(tmp_path / "lib", known)
    result = run("run", str(path), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "known" in result.stdout
    strict = run("run", str(path), "--strict", timeout=120)
    assert strict.returncode == 1


def test_filter_and_jobs_run_the_chosen_scenarios_in_parallel(run, tmp_path, needs_rmtfs):
    bodies = [dict(PASSING, name=f"writes-land-{i}") for i in range(3)] + [DEV_ERROR]
    write_scenarios(tmp_path / "lib", *bodies)
    js = tmp_path / "r.json"
    result = run("run", str(tmp_path / "lib"), "--filter", "smoke", "--jobs", "2", "--json", str(js), timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    names = sorted(s["name"] for s in json.loads(js.read_text())["scenarios"])
    assert names == ["writes-land-0", "writes-land-1", "writes-land-2"]
    assert json.loads(js.read_text())["jobs"] == 2


def test_the_seed_changes_the_data_and_is_recorded(run, tmp_path, needs_rmtfs):
    (path,) = write_scenarios(tmp_path / "lib", PASSING)
    js = tmp_path / "r.json"
    assert run("run", str(path), "--seed", "77", "--json", str(js), timeout=120).returncode == 0
    assert json.loads(js.read_text())["scenarios"][0]["seed"] == 77


def test_a_malformed_scenario_exits_2_and_names_file_line_column_and_pointer(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "name": "bad",\n  "description": "x",\n  "steps": [\n    {"fault": {"action": "sigkil"}}\n  ]\n}\n')
    for command in ("run", "validate"):
        result = run(command, str(bad))
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"{bad}:5:" in result.stderr, result.stderr
        assert "/steps/0/fault/action" in result.stderr
        assert "did you mean 'sigkill'?" in result.stderr


def test_validate_accepts_good_files_and_refuses_missing_paths(run, tmp_path):
    write_scenarios(tmp_path / "lib", PASSING, DEV_ERROR)
    ok = run("validate", str(tmp_path / "lib"))
    assert ok.returncode == 0 and "2 scenario(s) valid" in ok.stdout
    missing = run("validate", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_two_scenarios_with_one_name_are_refused(run, tmp_path):
    write_scenarios(tmp_path / "a", PASSING)
    write_scenarios(tmp_path / "b", PASSING)
    result = run("validate", str(tmp_path / "a"), str(tmp_path / "b"))
    assert result.returncode == 2 and "also the name of" in result.stderr


def test_bad_arguments_are_usage_errors(run, tmp_path):
    for args, text in [
        (["run"], "no scenario files or folders given"),
        (["run", "x.json", "--jobs", "0"], "option '--jobs' needs a number from 1 to 64"),
        (["run", "x.json", "--bogus"], "unknown option '--bogus'"),
        (["run", "x.json", "--seed"], "option '--seed' needs a value"),
        (["run", "x.json", "--transport", "kernel"], "--transport is for --target adb"),
        (["run", "x.json", "--target", "adb", "--transport", "tun"], "option '--transport' takes loopback or kernel"),
        (["run", "x.json", "--target", "adb", "--transport", "kernel", "--jobs", "2"], "one scenario at a time"),
        (["run", "x.json", "--target", "adb", "--allow-modem-restart"], "is for --target adb --transport kernel"),
        (["hil", "emulate", "--server", "/usr/bin/rmtfs"], "--server is the daemon of the board's QRTR: give --qrtr"),
        (["run", "x.json", "--shard", "0/3"], "option '--shard' takes K/N, the K-th of N shares"),
        (["run", "x.json", "--shard", "4/3"], "1 <= K <= N <= 10000 (e.g. 2/4), not '4/3'"),
        (["run", "x.json", "--shard", "1/0"], "not '1/0'"),
        (["run", "x.json", "--shard", "2"], "not '2'"),
        (["run", "x.json", "--shard", "-1/2"], "not '-1/2'"),
        (["run", "x.json", "--shard", "1/2/3"], "not '1/2/3'"),
        (["matrix", "--shard", "a/b"], "not 'a/b'"),
    ]:
        result = run(*args)
        assert result.returncode == 2 and text in result.stderr, (args, result.stderr)


def test_shards_split_a_suite_into_disjoint_balanced_shares_whatever_the_path_order(run, tmp_path, needs_rmtfs):
    names = [f"share-{letter}" for letter in "gfedcba"]
    paths = write_scenarios(tmp_path / "lib", *[scenario(n, [{"expect": {"service": True}}]) for n in names])
    ran_in = {}
    for k in (1, 2, 3):
        # Each job may name the files in another order: the shares stay the same.
        order = paths if k != 2 else list(reversed(paths))
        junit, js = tmp_path / f"shard{k}.xml", tmp_path / f"shard{k}.json"
        result = run("run", *map(str, order), "--shard", f"{k}/3", "--junit", str(junit), "--json", str(js), "-q",
                     timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        got = [s["name"] for s in json.loads(js.read_text())["scenarios"]]
        assert f"shard {k}/3: {len(got)} of 7 scenario(s)" in result.stdout, result.stdout
        assert int(ET.parse(junit).getroot().get("tests")) == len(got)
        ran_in[k] = got
    # Sorted by name, every third from the k-th; each run in the order its paths were given.
    assert ran_in == {1: ["share-g", "share-d", "share-a"], 2: ["share-b", "share-e"], 3: ["share-f", "share-c"]}, ran_in

    # More shares than scenarios: an empty share runs nothing and succeeds, with empty reports.
    js = tmp_path / "empty.json"
    result = run("run", str(paths[0]), "--shard", "2/2", "--json", str(js), timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shard 2/2: 0 of 1 scenario(s)" in result.stdout
    assert json.loads(js.read_text())["scenarios"] == []


def test_a_missing_server_is_an_environment_error(run, tmp_path):
    (path,) = write_scenarios(tmp_path / "lib", PASSING)
    result = run("run", str(path), "--server", str(tmp_path / "no-rmtfs"))
    assert result.returncode == 3 and "no-rmtfs: no such file" in result.stderr


def test_help_teaches_the_commands(run):
    for command in ("run", "validate", "matrix"):
        result = run("help", command)
        assert result.returncode == 0 and f"rmtfs-hil {command}" in result.stdout
        assert run(command, "--help").stdout == result.stdout


def test_ctrl_c_stops_cleanly_writes_the_reports_and_leaves_no_daemon(rmtfs_hil, tmp_path, needs_rmtfs):
    slow = scenario(
        "waits-long",
        [{"wait_for": {"event": "log", "text": "never printed"}, "timeout_ms": 60000}],
        timeout_ms=120000,
    )
    (path,) = write_scenarios(tmp_path / "lib", slow)
    js = tmp_path / "r.json"
    proc = subprocess.Popen(
        [str(rmtfs_hil), "run", str(path), "--json", str(js)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # Until the daemon runs (its process appears), then interrupt.
    deadline = time.time() + 30
    while time.time() < deadline and not daemon_pids_of(proc.pid):
        time.sleep(0.05)
    assert daemon_pids_of(proc.pid), "the daemon never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err
    data = json.loads(js.read_text())
    assert data["interrupted"] is True
    assert data["scenarios"][0]["verdict"] == "error" and "interrupted" in data["scenarios"][0]["reason"]
    assert not daemon_pids_of(proc.pid), "a daemon outlived the run"


def test_storage_from_a_folder_of_board_images(run, tmp_path, needs_rmtfs):
    snapshot = tmp_path / "lib" / "board"
    snapshot.mkdir(parents=True)
    for i, name in enumerate(["modem_fs1", "modem_fs2", "modem_fsg", "modem_fsc"]):
        (snapshot / name).write_bytes(bytes([0x50 + i]) * (64 * 512))
    body = scenario(
        "board-images",
        [
            {"read": {"partition": "/boot/modem_fsg", "sector": 3, "sectors": 1, "data": {"fill": "0x52"}}},
            {"write": {"partition": "/boot/modem_fs1", "sector": 2, "sectors": 1, "data": {"pattern": "x"}}},
            {"expect": {"storage": [{"file": "modem_fs2", "sector": 63, "sectors": 1, "data": {"fill": "0x51"}},
                                    {"file": "modem_fs1", "sector": 1, "sectors": 1, "unchanged": True}]}},
        ],
        setup={"storage": {"from": "board"}, "modems": [{"image_sectors": 64}]},
    )
    (path,) = write_scenarios(tmp_path / "lib", body)
    result = run("run", str(path), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (snapshot / "modem_fs1").read_bytes() == bytes([0x50]) * (64 * 512), "the board's images are copied, not written"


def test_matrix_runs_each_fault_scenario_under_every_coupling_policy(run, tmp_path, needs_rmtfs):
    killed = scenario(
        "killed-mid-write",
        [
            {"fault": {"action": "sigkill", "when": {"after_write": 2}}},
            {"write": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "k"},
                       "expect": "unknown"}},
            {"expect": {"ledger": "clean"}},
        ],
        tags=["fault"],
        invariants={"server_alive": True},
    )
    write_scenarios(tmp_path / "lib", killed, PASSING)
    js = tmp_path / "m.json"
    result = run("matrix", str(tmp_path / "lib"), "--json", str(js), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for policy in ("manual", "rmtfs-sysfs", "mem-open", "service-watch"):
        assert f"== coupling policy {policy}" in result.stdout
        assert policy in result.stdout.split("== coupling policy service-watch")[1], "the matrix names every policy"
    runs = json.loads(js.read_text())["scenarios"]
    assert sorted(r["coupling"] for r in runs) == ["manual", "mem-open", "rmtfs-sysfs", "service-watch"]
    assert all(r["name"] == "killed-mid-write" and not r["data_lost"] for r in runs), "only the fault scenario runs"


def test_a_clean_ledger_midway_does_not_vouch_for_what_comes_after(run, tmp_path, needs_rmtfs):
    # Checked clean early, then an acknowledged write is lost: the run must
    # still fail at the end (rmtfs 1.0 ignores the failed fdatasync).
    body = scenario(
        "clean-then-lost",
        [
            {"expect": {"ledger": "clean"}},
            {"io_fault": {"call": "sync", "error": "EIO", "file": "modem_fs1"}},
            {"write": {"partition": "/boot/modem_fs1", "sector": 60, "sectors": 2, "data": {"pattern": "s"}}},
            {"power_loss": {}},
        ],
    )
    (path,) = write_scenarios(tmp_path / "lib", body)
    result = run("run", str(path), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "acknowledged write lost" in result.stdout


def test_a_skipped_scenario_with_a_known_issue_is_not_a_new_failure(run, tmp_path):
    body = dict(DEV_ERROR, name="board-only", targets=["adb"],
                known_issue={"text": "x", "observed": "fail", "match": "result 1"})
    (path,) = write_scenarios(tmp_path / "lib", body)
    js = tmp_path / "r.json"
    result = run("run", str(path), "--json", str(js), timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    (entry,) = json.loads(js.read_text())["scenarios"]
    assert entry["verdict"] == "skip" and entry["known_status"] == "" and "target sim" in entry["reason"]


def test_an_unwritable_report_is_refused_before_anything_runs(run, tmp_path):
    (path,) = write_scenarios(tmp_path / "lib", PASSING)
    result = run("run", str(path), "--junit", str(tmp_path / "no" / "such" / "dir" / "r.xml"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot write" in result.stderr and "No such file or directory" in result.stderr
    assert "[1/1]" not in result.stdout, "nothing ran"


def test_a_write_the_modem_cannot_send_fails_its_scenario_and_nothing_else(run, tmp_path, needs_rmtfs):
    # The modem never booted, so it holds no handle: the write step fails with
    # that reason — never an abort of the whole run.
    body = scenario(
        "write-a-skipped-partition",
        [
            {"write": {"partition": "/boot/modem_fsg", "sector": 0, "sectors": 1}},
        ],
        setup={"server": {"start": False}, "modems": [{"boot": False, "on_open_failure": "skip"}]},
    )
    bodies = [body, PASSING]
    write_scenarios(tmp_path / "lib", *bodies)
    js = tmp_path / "r.json"
    result = run("run", str(tmp_path / "lib"), "--jobs", "2", "--json", str(js), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    verdicts = {s["name"]: s for s in json.loads(js.read_text())["scenarios"]}
    assert verdicts["writes-land"]["verdict"] == "pass", "the other scenario still ran"
    assert verdicts["write-a-skipped-partition"]["verdict"] == "fail"
    assert "no handle for /boot/modem_fsg" in verdicts["write-a-skipped-partition"]["reason"]


def test_a_fault_that_never_fires_makes_the_scenario_an_error(run, tmp_path, needs_rmtfs):
    body = scenario(
        "fault-never-reached",
        [
            {"fault": {"action": "sigkill", "when": {"request": "CLOSE", "nth": 1}}},
            {"io_fault": {"call": "write", "error": "EIO", "file": "modem_fsc"}},
            {"write": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 1, "data": {"pattern": "a"}}},
        ],
    )
    (path,) = write_scenarios(tmp_path / "lib", body)
    result = run("run", str(path), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ERROR" in result.stdout
    assert "the fault armed by step 1 never fired: the scenario did not test what it says" in result.stdout


def test_the_target_is_chosen_on_the_command_line(run, rmtfs_hil, tmp_path, needs_rmtfs):
    (path,) = write_scenarios(tmp_path / "lib", PASSING)
    assert run("run", str(path), "--target", "sim", timeout=120).returncode == 0
    # A board that is not there: the machine's trouble (3), said in one place,
    # and nothing ran. (A private adb server, which the run ends again.)
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, ANDROID_ADB_SERVER_PORT="15037", HOME=str(home), TMPDIR=str(tmp_path))
    result = subprocess.run([str(rmtfs_hil), "run", str(path), "--target", "adb:0123456789ABCDEF"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "--target adb:0123456789ABCDEF: adb get-state for 0123456789ABCDEF" in result.stderr, result.stderr
    assert result.stdout == "", "nothing ran"
    subprocess.run(["adb", "kill-server"], env=env, capture_output=True, timeout=30)
    for target in ("qemu", "sim:1", "", "adb:"):
        result = run("run", str(path), "--target", target)
        assert result.returncode == 2 and "takes sim or adb[:SERIAL]" in result.stderr, (target, result.stderr)


def test_faults_at_triggers_and_on_events_fire_where_they_say(run, tmp_path, needs_rmtfs):
    # A fault whose event never comes is an error: the scenario did not test what it says.
    unfired = scenario(
        "event-that-never-comes",
        [
            {"fault": {"action": "network_reset"}},
            {"fault": {"action": "link_down", "modem": 0, "when": {"event": "log", "text": "this line never appears"}}},
        ],
    )
    (path,) = write_scenarios(tmp_path / "lib", unfired)
    result = run("run", str(path), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the fault armed by step 2 never fired" in result.stdout
    upgrade = scenario(
        "upgrade-needs-its-binary",
        [{"fault": {"action": "upgrade", "when": {"request": "RW_IOVEC"}}}],
    )
    (path,) = write_scenarios(tmp_path / "bad", upgrade)
    result = run("validate", str(path))
    assert result.returncode == 2
    assert "/steps/0/fault: an upgrade needs 'binary'" in result.stderr, result.stderr


def test_an_io_fault_armed_by_a_trigger_must_meet_a_call(run, tmp_path, needs_rmtfs):
    # Fired at the request, but no sync of modem_fsc ever follows: an error,
    # not a pass that tested nothing.
    missed = scenario(
        "io-fault-never-met",
        [
            {"fault": {"action": "io_fault", "call": "sync", "error": "EIO", "file": "modem_fsc",
                       "when": {"request": "RW_IOVEC"}}},
            {"write": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 1, "data": {"pattern": "a"}}},
        ],
    )
    (path,) = write_scenarios(tmp_path / "lib", missed)
    result = run("run", str(path), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the I/O fault armed by step 1 never hit a call" in result.stdout, result.stdout
    # The io_fault kind reads the io_fault step's options, and only those.
    for extra, message in (({}, "/steps/0/fault: missing required key 'call'"),
                           ({"call": "sync", "error": "EIO", "binary": "/bin/true"}, "'binary'")):
        body = scenario("io-fault-options", [{"fault": {"action": "io_fault", **extra, "when": {"after_ms": 1}}}])
        (path,) = write_scenarios(tmp_path / ("bad" + str(len(extra))), body)
        result = run("validate", str(path))
        assert result.returncode == 2, result.stdout + result.stderr
        assert message in result.stderr, result.stderr


def test_work_a_trigger_set_off_that_the_harness_could_not_do_is_an_error(run, tmp_path, needs_rmtfs):
    # The upgrade's binary cannot be started: the harness's trouble, said as
    # such, not the daemon's failure to answer.
    body = scenario(
        "upgrade-to-nothing",
        [
            {"fault": {"action": "upgrade", "binary": str(tmp_path / "no-such-rmtfs"), "when": {"request": "RW_IOVEC"}}},
            {"write": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 1, "data": {"pattern": "a"}, "expect": "any"}},
        ],
    )
    (path,) = write_scenarios(tmp_path / "lib", body)
    result = run("run", str(path), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ERROR upgrade-to-nothing: step 2" in result.stdout, result.stdout
    assert "restart: cannot execute " + str(tmp_path / "no-such-rmtfs") in result.stdout, result.stdout


@pytest.mark.parametrize("kind", ["write", "read"])
def test_a_request_that_times_out_while_the_daemon_runs_breaks_the_invariant(run, tmp_path, needs_rmtfs, kind):
    # The link drops what the modem sends: the daemon runs, yet nothing is answered.
    transfer = {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 1, "expect": "any"}
    if kind == "write":
        transfer["data"] = {"pattern": "a"}
    steps = [{"link": {"action": "drop", "direction": "to_daemon"}}, {kind: transfer}]
    setup = {"modems": [{"request_timeout_ms": 300}]}
    strict = scenario(f"{kind}-unanswered", steps, setup=setup)
    lenient = scenario(f"{kind}-unanswered-allowed", steps, setup=setup, invariants={"requests_answered": False})
    paths = write_scenarios(tmp_path / "lib", strict, lenient)
    result = run("run", *map(str, paths), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAIL {kind}-unanswered:" in result.stdout, result.stdout
    # Nothing is in flight and the daemon waits for input: the wait ends at rest, not at the timeout.
    assert f"a {kind} of /boot/modem_fs1 went unanswered while the daemon was running" in result.stdout, result.stdout
    assert "the daemon waits for input with nothing left to read" in result.stdout, result.stdout
    assert re.search(rf"\] pass +{kind}-unanswered-allowed ", result.stdout), result.stdout


def test_an_expectation_of_the_daemon_state_waits_for_the_world_to_settle(run, tmp_path, needs_rmtfs):
    # Each signal's effect is judged the moment after it is sent: the expect
    # step waits until the stop, continue or end is reported, not a fixed time.
    steps = []
    for _ in range(5):
        steps += [
            {"fault": {"action": "sigstop"}},
            {"expect": {"daemon": "stopped"}},
            {"fault": {"action": "sigcont"}},
            {"expect": {"daemon": "running"}},
        ]
    steps += [{"fault": {"action": "sigkill"}}, {"expect": {"daemon": "killed by SIGKILL"}}]
    wrong = steps[:1] + [{"expect": {"daemon": "running"}}]
    paths = write_scenarios(
        tmp_path / "lib",
        scenario("signals-settle", steps, invariants={"server_alive": False}),
        scenario("stopped-is-not-running", wrong),
    )
    result = run("run", *map(str, paths), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"\] pass +signals-settle ", result.stdout), result.stdout
    assert "FAIL stopped-is-not-running: step 2 (expect" in result.stdout, result.stdout
    assert "the daemon is stopped, expected running" in result.stdout, result.stdout


def test_the_scenarios_timeout_bounds_its_last_step_too(run, tmp_path, needs_rmtfs):
    # The last step may wait 60 s; the scenario allows 1.5 s in all (the run
    # itself is given 50 s: the step's own wait must not run out).
    waits = [{"wait_for": {"event": "log", "text": "never printed"}, "timeout_ms": 60000}]
    bounded = scenario("bounded", waits, timeout_ms=1500)
    unbounded = scenario("waits-its-own-bound", [{**waits[0], "timeout_ms": 300}], timeout_ms=60000)
    paths = write_scenarios(tmp_path / "lib", bounded, unbounded)
    result = run("run", "--json", str(tmp_path / "r.json"), *map(str, paths), timeout=50)
    assert result.returncode == 1, result.stdout + result.stderr
    verdicts = {s["name"]: s for s in json.loads((tmp_path / "r.json").read_text())["scenarios"]}
    assert verdicts["bounded"]["verdict"] == "error", verdicts["bounded"]
    assert "the scenario ran past its 1500 ms bound (timeout_ms)" in verdicts["bounded"]["reason"]
    # Within the scenario's bound, a step's own timeout is what fails it.
    assert verdicts["waits-its-own-bound"]["verdict"] == "fail", verdicts["waits-its-own-bound"]
    assert "ran past" not in verdicts["waits-its-own-bound"]["reason"]


def test_a_daemon_that_exits_on_its_own_breaks_the_alive_invariant(run, tmp_path, needs_rmtfs):
    # Without a name service, rmtfs 1.0 gives up publishing and exits 0.
    setup = {"name_service": "none", "server": {"start": False}, "modems": [{"boot": False}]}
    steps = [{"daemon": "start"}, {"wait_for": {"event": "daemon_exit"}, "timeout_ms": 5000}]
    paths = write_scenarios(
        tmp_path / "lib",
        scenario("exits-on-its-own", steps, setup=setup),
        scenario("exit-allowed", steps, setup=setup, invariants={"server_alive": False}),
        scenario("stopped-by-a-step", [{"daemon": "stop"}, {"expect": {"daemon": "exited 0"}}]),
    )
    result = run("run", *map(str, paths), timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL exits-on-its-own: step 2 (wait_for" in result.stdout, result.stdout
    assert "the daemon ended on its own: exited 0 (no step stopped it; it must keep serving)" in result.stdout
    assert re.search(r"\] pass +exit-allowed ", result.stdout), result.stdout
    assert re.search(r"\] pass +stopped-by-a-step ", result.stdout), result.stdout


def test_a_boot_after_a_failed_boot_boots_afresh(run, tmp_path, needs_rmtfs):
    # The first boot fails (the daemon cannot open modem_fsg); the next boot
    # step powers the processor off and on and boots again.
    steps = [
        {"io_fault": {"call": "open", "error": "EACCES", "file": "modem_fsg"}},
        {"boot": {"expect": "fail", "reason": "modem_fsg"}},
        {"boot": {}},
        {"expect": {"modem_state": "running"}},
    ]
    (path,) = write_scenarios(tmp_path / "lib", scenario("boot-again", steps, setup={"modems": [{"boot": False}]}))
    result = run("run", str(path), timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
