"""Every check a scenario can write can fail, and says what failed.

For each kind of expectation, two scenarios that differ only in it: the
right one passes against Debian's rmtfs, the deliberately wrong one fails
with a reason that names the check. A check that cannot fail is as bad as a
daemon bug it would hide."""
import json
import os
import re
import subprocess

import pytest

FS1 = "/boot/modem_fs1"


def write(sector, label, **extra):
    return {"write": {"partition": FS1, "sector": sector, "sectors": 2, "data": {"pattern": label}, **extra}}


def read(sector, **extra):
    return {"read": {"partition": FS1, "sector": sector, "sectors": 2, **extra}}


def stored(sector, **check):
    return {"expect": {"storage": [{"file": "modem_fs1", "sector": sector, "sectors": 2, **check}]}}


# name: (steps before, the right check, the wrong check, what the wrong one's reason says, scenario keys)
CASES = {
    "read-data": ([write(8, "a")], read(8, data={"pattern": "a"}), read(8, data={"pattern": "b"}),
                  "read of 2 sectors at /boot/modem_fs1 sector 8 returned other bytes than the scenario expects", {}),
    "read-outcome": ([], read(8), read(8, expect="failed"), "succeeded; the scenario expects it to fail", {}),
    "write-outcome": ([], write(8, "a"), write(8, "a", expect="failed"), "sector 8: ok (RW_IOVEC response", {}),
    "write-error-code": ([{"io_fault": {"call": "write", "error": "EIO", "file": "modem_fs1"}}],
                         write(8, "a", expect="failed", error=1), write(8, "a", expect="failed", error=2),
                         "failed with error 1, expected error 2", {}),
    "request-result": ([], {"request": {"message": "OPEN", "path": FS1, "expect": {"result": 0}}},
                       {"request": {"message": "OPEN", "path": FS1, "expect": {"result": 1}}},
                       "result 0, expected 1", {}),
    "request-error": ([], {"request": {"message": "OPEN", "path": "/boot/../etc/passwd", "expect": {"result": 1, "error": 1}}},
                      {"request": {"message": "OPEN", "path": "/boot/../etc/passwd", "expect": {"result": 1, "error": 2}}},
                      "error 1, expected 2", {}),
    "caller-id": ([], {"request": {"message": "OPEN", "path": FS1, "expect": {"caller_id": 0}}},
                  {"request": {"message": "OPEN", "path": FS1, "expect": {"caller_id": 3}}},
                  "expected caller id 3", {}),
    "answered": ([], {"raw": {"hex": "00 01 00 01 00 ff ff", "expect": {"answered": False}}},
                 {"raw": {"hex": "00 01 00 01 00 ff ff"}}, "no answer: timeout", {}),
    "not-answered": ([], {"request": {"message": "OPEN", "path": FS1}},
                     {"request": {"message": "OPEN", "path": FS1, "expect": {"answered": False}}},
                     "the scenario expects none", {}),
    "daemon-running": ([], {"expect": {"daemon": "running"}}, {"expect": {"daemon": "stopped"}},
                       "the daemon is running, expected stopped", {}),
    "daemon-exit-status": ([{"daemon": "stop"}], {"expect": {"daemon": "exited 0"}}, {"expect": {"daemon": "exited 1"}},
                           "the daemon is exited 0, expected exited 1", {}),
    "daemon-signal": ([{"daemon": "kill"}], {"expect": {"daemon": "killed by SIGKILL"}},
                      {"expect": {"daemon": "killed by SIGTERM"}},
                      "the daemon is killed by SIGKILL, expected killed by SIGTERM", {}),
    "service": ([], {"expect": {"service": True}}, {"expect": {"service": False}}, "service 14 is still published", {}),
    "modem-state": ([], {"expect": {"modem_state": "running"}}, {"expect": {"modem_state": "offline"}},
                    "modem 0 is running, expected offline", {}),
    "remoteproc-state": ([], {"expect": {"remoteproc_state": "running"}}, {"expect": {"remoteproc_state": "offline"}},
                         "the remoteproc is running, expected offline", {}),
    "log": ([], {"expect": {"log": ["open /boot/modem_fs1"]}}, {"expect": {"log": ["open /boot/modem_fs9"]}},
            "never logged 'open /boot/modem_fs9'", {}),
    "no-log": ([], {"expect": {"no_log": ["open /boot/modem_fs9"]}}, {"expect": {"no_log": ["open /boot/modem_fs1"]}},
               "logged 'open /boot/modem_fs1'", {}),
    # The modem holds fs1 only; OPENing fs2 by hand makes the daemon open its file (and the shim its channel).
    "daemon-fds-added": ([{"request": {"message": "OPEN", "path": "/boot/modem_fs2", "expect": {"result": 0}}}],
                         {"expect": {"daemon_fds_added": 2}}, {"expect": {"daemon_fds_added": 1}},
                         "2 more than after the setup (at most 1 more expected)",
                         {"setup": {"modems": [{"partitions": ["/boot/modem_fs1"]}]}}),
    "daemon-starts": ([], {"expect": {"daemon_starts": 1}}, {"expect": {"daemon_starts": 2}},
                      "started 1 times, expected 2", {}),
    "modem-crashes": ([], {"expect": {"modem_crashes": 0}}, {"expect": {"modem_crashes": 1}},
                      "modem 0 crashed 0 times, expected 1", {}),
    "ledger": ([write(8, "a")], {"expect": {"ledger": "clean"}}, {"expect": {"ledger": "violated"}},
               "the ledger is clean; the scenario expects a violation", {}),
    "storage-data": ([write(8, "a")], stored(8, data={"pattern": "a"}), stored(8, data={"pattern": "b"}),
                     "modem_fs1 sectors 8+2 do not hold the expected data", {}),
    "storage-unchanged": ([write(8, "a")], stored(8, unchanged=False), stored(8, unchanged=True),
                          "modem_fs1 sectors 8+2 changed", {}),
    "storage-sha256": ([], stored(100, unchanged=True), stored(100, sha256="0" * 64), "sectors 100+2 hash to ", {}),
    "boot-outcome": ([{"modem": {"action": "stop"}}], {"boot": {}}, {"boot": {"expect": "fail"}},
                     "modem 0 booted; the scenario expects its boot to fail", {}),
}

# A failing scenario with a known issue: known when `match` is in its reason, new when not.
WRONG_READ = [write(8, "a"), read(8, data={"pattern": "b"})]
KNOWN_ISSUES = {  # name: (match, step or None, known_status)
    "known-issue-matches": ("returned other bytes", None, "known"),
    "known-issue-does-not-match": ("acknowledged write lost", None, "new"),
    "known-issue-at-its-step": ("returned other bytes", 2, "known"),
    "known-issue-at-another-step": ("returned other bytes", 1, "new"),
    # The reason names the file; the match looks at the failure only.
    "known-issue-matching-the-path": ("known-issue-matching-the-path.json", None, "new"),
}


@pytest.fixture(scope="module")
def verdicts(rmtfs_hil, tmp_path_factory):
    """Runs every right and wrong scenario in one suite; their results by name."""
    if not os.path.exists("/usr/bin/rmtfs"):
        pytest.skip("/usr/bin/rmtfs is not installed (ci/setup.sh installs it)")
    library = tmp_path_factory.mktemp("expectations")
    for name, (before, right, wrong, _, keys) in CASES.items():
        for variant, check in (("right", right), ("wrong", wrong)):
            body = {"name": f"{name}-{variant}", "description": f"the {variant} {name} expectation",
                    "steps": [*before, check], **keys}
            (library / f"{name}-{variant}.json").write_text(json.dumps(body))
    for name, (match, step, _) in KNOWN_ISSUES.items():
        known = {"text": "the daemon returns other bytes", "match": match, **({"step": step} if step else {})}
        body = {"name": name, "description": "a failing read with a known issue", "steps": WRONG_READ, "known_issue": known}
        (library / f"{name}.json").write_text(json.dumps(body))
    report = library / "report.json"
    result = subprocess.run([str(rmtfs_hil), "run", str(library), "--jobs", "2", "-q", "--json", str(report)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return {s["name"]: s for s in json.loads(report.read_text())["scenarios"]}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_right_expectation_passes_and_the_wrong_one_fails_saying_why(verdicts, name):
    fragment = CASES[name][3]
    right, wrong = verdicts[f"{name}-right"], verdicts[f"{name}-wrong"]
    assert right["verdict"] == "pass", f"{name}: the right expectation did not pass: {right['reason']}"
    assert wrong["verdict"] == "fail", f"{name}: the wrong expectation gave {wrong['verdict']}: {wrong['reason']}"
    last = len(CASES[name][0]) + 1
    assert re.search(rf"^step {last} \(", wrong["reason"]), f"{name}: failed elsewhere: {wrong['reason']}"
    assert fragment in wrong["reason"], f"{name}: the reason does not say what failed: {wrong['reason']}"


@pytest.mark.parametrize("name", sorted(KNOWN_ISSUES))
def test_a_known_issue_is_known_only_when_its_match_is_in_the_reason(verdicts, name):
    result = verdicts[name]
    assert result["verdict"] == "fail", result["reason"]
    assert result["known_status"] == KNOWN_ISSUES[name][2], result


def test_a_read_expected_to_fail_needs_a_failure_answer_not_silence(run, tmp_path):
    if not os.path.exists("/usr/bin/rmtfs"):
        pytest.skip("/usr/bin/rmtfs is not installed (ci/setup.sh installs it)")
    refused = {"read": {"partition": FS1, "sector": 8, "sectors": 1, "expect": "failed"}}
    scenarios = {
        # The daemon cannot copy the sectors into the shared memory: it answers with a failure.
        "read-refused": {"steps": [{"io_fault": {"call": "write", "target": "memory", "error": "EIO"}}, refused]},
        # Nothing reaches the daemon: no answer is not a failure answer.
        "read-unanswered": {"steps": [{"link": {"action": "drop", "direction": "to_daemon"}}, refused],
                            "setup": {"modems": [{"request_timeout_ms": 300}]},
                            "invariants": {"requests_answered": False}},
    }
    paths = []
    for name, body in scenarios.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"name": name, "description": name, **body}))
        paths.append(str(path))
    result = run("run", "--json", str(tmp_path / "r.json"), *paths, timeout=60)
    verdicts = {s["name"]: s for s in json.loads((tmp_path / "r.json").read_text())["scenarios"]}
    assert verdicts["read-refused"]["verdict"] == "pass", verdicts["read-refused"]["reason"]
    unanswered = verdicts["read-unanswered"]
    assert unanswered["verdict"] == "fail", result.stdout
    assert "was not refused (RW_IOVEC read failed: timeout" in unanswered["reason"], unanswered["reason"]


def test_a_hand_built_write_is_in_the_ledger_and_reads_back_clean(run, tmp_path):
    # The modem's buffer holds "buf" after its own write; a hand-built
    # RW_IOVEC then writes those bytes to modem_fs2 40-41, and a raw one the
    # same to 50-51. Both are ledgered like the modem's writes, so the reads
    # of them are judged clean, and a wrong expectation of them fails.
    if not os.path.exists("/usr/bin/rmtfs"):
        pytest.skip("/usr/bin/rmtfs is not installed (ci/setup.sh installs it)")
    hand_built = {"request": {"message": "RW_IOVEC", "partition": "/boot/modem_fs2", "direction": 1,
                              "iovec": [{"sector_addr": 40, "num_sector": 2}], "expect": {"result": 0}}}
    steps = [write(8, "buf"), hand_built,
             {"read": {"partition": "/boot/modem_fs2", "sector": 40, "sectors": 2, "data": {"pattern": "buf"}}},
             {"expect": {"ledger": "clean"}}]
    path = tmp_path / "hand-built.json"
    path.write_text(json.dumps({"name": "hand-built", "description": "d", "steps": steps}))
    result = run("run", "--json", str(tmp_path / "r.json"), str(path), timeout=60)
    report = json.loads((tmp_path / "r.json").read_text())["scenarios"][0]
    assert report["verdict"] == "pass", result.stdout
    assert report["ledger_verdict"].startswith("clean: 2 writes (2 ok"), report["ledger_verdict"]


def test_a_hand_built_write_the_daemon_dies_on_stays_unknown(run, tmp_path):
    # The daemon dies as the hand-built write reaches it; the modem crashes
    # with it and its pending writes become unknown. The answer-less request
    # must not resolve that write again (a harness bug the mutation study found).
    if not os.path.exists("/usr/bin/rmtfs"):
        pytest.skip("/usr/bin/rmtfs is not installed (ci/setup.sh installs it)")
    steps = [write(8, "buf"),
             {"fault": {"action": "sigkill", "when": {"request": "RW_IOVEC"}}},
             {"request": {"message": "RW_IOVEC", "partition": "/boot/modem_fs2", "direction": 1,
                          "iovec": [{"sector_addr": 40, "num_sector": 2}], "expect": {"answered": False}}},
             {"expect": {"daemon": "killed by SIGKILL", "ledger": "clean"}}]
    path = tmp_path / "dies.json"
    path.write_text(json.dumps({"name": "dies", "description": "d", "steps": steps,
                                "invariants": {"server_alive": False}}))
    result = run("run", "--json", str(tmp_path / "r.json"), str(path), timeout=60)
    report = json.loads((tmp_path / "r.json").read_text())["scenarios"][0]
    assert "a bug in the harness" not in report["reason"], report["reason"]
    assert report["verdict"] == "pass", result.stdout
    assert "1 unknown" in report["ledger_verdict"], report["ledger_verdict"]
