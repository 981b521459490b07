"""The agent's kernel transport (`rmtfs-hil agent --transport kernel`): the
daemon a process the agent supervises, the simulated modem a client on the
local QRTR node through AF_QIPCRTR sockets. This machine's kernel has no
QRTR, so the agent runs inside `rmtfs-hil sandbox`, whose world gives every
program in it AF_QIPCRTR sockets (the same calls a board's kernel answers)."""
import json
import os
import pathlib
import shlex
import subprocess

import pytest

from conftest import RMTFS

LIBRARY = pathlib.Path(__file__).resolve().parents[2] / "scenarios"


def agent_in_sandbox(rmtfs_hil, *args, before="", timeout=600):
    """The agent's lines (parsed), its exit status and stderr. `before`: shell
    run in the world first (a system rmtfs, for instance)."""
    agent = " ".join(shlex.quote(a) for a in [str(rmtfs_hil), "agent", "--transport", "kernel", *map(str, args)])
    script = f"{before}\n{agent}\nstatus=$?\njobs -p | xargs -r kill\nexit $status"
    # A sanitized agent under the world's preload libraries: ASan's runtime
    # is then not first in the library list, which it accepts when told.
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    ran = subprocess.run([str(rmtfs_hil), "sandbox", "-q", "--", "/bin/sh", "-c", script],
                         capture_output=True, text=True, timeout=timeout, env=env)
    lines = [json.loads(line) for line in ran.stdout.splitlines() if line]
    return lines, ran.returncode, ran.stderr


def results(lines):
    return {line["result"]["name"]: line["result"] for line in lines if line["agent"] == "result"}


def test_the_library_on_the_local_node_gives_the_simulations_verdicts(rmtfs_hil, tmp_path):
    lines, status, stderr = agent_in_sandbox(rmtfs_hil, LIBRARY)
    assert status == 0, stderr
    assert lines[0]["agent"] == "hello" and lines[0]["transport"] == "kernel"
    assert "link_faults" not in lines[0]["capabilities"] and "simulated_modem" in lines[0]["capabilities"]
    assert lines[-1] == {"agent": "done", "interrupted": False}
    board = results(lines)
    ran = sorted(name for name, r in board.items() if r["verdict"] != "skip")
    skipped = {name: r["reason"] for name, r in board.items() if r["verdict"] == "skip"}
    assert len(ran) >= 20, ran
    for name, reason in skipped.items():
        assert "the target cannot do what the scenario needs" in reason or "for board" in reason, (name, reason)
    assert any("raw_partitions" in r for r in skipped.values()), "a -P scenario is never run against a board"
    assert any("daemon_drives_modem" in r for r in skipped.values()), "-s needs --allow-modem-restart"

    files = [str(LIBRARY / f"{name}.json") for name in ran]
    sim = subprocess.run([str(rmtfs_hil), "run", "--jobs", "2", *files, "--json", str(tmp_path / "sim.json")],
                         capture_output=True, text=True, timeout=900)
    assert sim.returncode == 0, sim.stdout + sim.stderr
    expected = {s["name"]: s for s in json.loads((tmp_path / "sim.json").read_text())["scenarios"]}
    for name in ran:
        got, want = board[name], expected[name]
        assert (got["verdict"], got["known_status"]) == (want["verdict"], want["known_status"]), (name, got["reason"])
    assert any(board[name]["verdict"] == "fail" for name in ran), "the known issues fail on the local node too"
    assert any(board[name]["verdict"] == "pass" for name in ran)


def test_another_server_of_the_service_is_never_raced(rmtfs_hil, tmp_path):
    """The system's rmtfs still running: the agent's modem would reach either
    daemon. Every scenario is an error naming the running service, none runs."""
    system = f"{RMTFS} -o \"$RMTFS_HIL_STORAGE\" -r & sleep 1"
    lines, status, stderr = agent_in_sandbox(rmtfs_hil, LIBRARY / "cold-boot.json", LIBRARY / "upgrade.json",
                                             before=system, timeout=120)
    assert status == 0, stderr
    board = results(lines)
    assert set(board) == {"cold-boot", "upgrade"}
    for name, result in board.items():
        assert result["verdict"] == "error", (name, result["reason"])
        assert "already served" in result["reason"] and "stop the system's rmtfs" in result["reason"], result["reason"]


def test_the_kernel_transport_needs_af_qipcrtr(rmtfs_hil):
    """Outside the world this kernel has no QRTR: the board lacks it (exit 3)."""
    ran = subprocess.run([str(rmtfs_hil), "agent", "--transport", "kernel", str(LIBRARY / "cold-boot.json")],
                         capture_output=True, text=True, timeout=60)
    if ran.returncode == 0:
        pytest.skip("this kernel has AF_QIPCRTR: the refusal cannot be shown here")
    assert ran.returncode == 3, ran.stderr
    assert "no AF_QIPCRTR" in ran.stderr and ran.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["--transport", "kernel", "--jobs", "2"], "one scenario at a time"),
    (["--allow-modem-restart"], "--allow-modem-restart is for --transport kernel"),
])
def test_kernel_transport_usage_errors(rmtfs_hil, args, message):
    ran = subprocess.run([str(rmtfs_hil), "agent", *args, str(LIBRARY / "cold-boot.json")],
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 2 and message in ran.stderr, ran.stderr


def test_allowing_the_modem_restart_runs_the_dash_s_scenarios(rmtfs_hil, tmp_path):
    """A scenario whose daemon has -s (it drives the modem's remoteproc) is
    skipped without the flag and run with it."""
    body = json.loads((LIBRARY / "sigterm-clean-exit.json").read_text())
    body["name"] = "daemon-with-dash-s"
    body.setdefault("setup", {})["server"] = {"args": ["-o", "{storage}", "-s", "-v"]}
    path = tmp_path / "dash-s.json"
    path.write_text(json.dumps(body))
    without, status, stderr = agent_in_sandbox(rmtfs_hil, path, timeout=120)
    assert status == 0, stderr
    assert results(without)["daemon-with-dash-s"]["verdict"] == "skip"
    assert "daemon_drives_modem" in results(without)["daemon-with-dash-s"]["reason"]
    allowed, status, stderr = agent_in_sandbox(rmtfs_hil, "--allow-modem-restart", path, timeout=120)
    assert status == 0, stderr
    assert "daemon_drives_modem" in allowed[0]["capabilities"]
    assert results(allowed)["daemon-with-dash-s"]["verdict"] != "skip"
