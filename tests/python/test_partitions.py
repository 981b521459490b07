"""The daemon's production command lines (`-P`) and the host's disks.

The world's EFS partitions are block devices over its storage files; a path
that would take the daemon to one of the host's block devices is refused by
the shim, and the run says so as an `error` (the bench is wrong, not the
daemon). The control runs the same scenario against a regular file, so the
check can fail."""
import json
import os
import stat

import pytest

RMTFS = "/usr/bin/rmtfs"

pytestmark = pytest.mark.skipif(not os.path.exists(RMTFS), reason=f"{RMTFS} is not installed (ci/setup.sh installs it)")


def partitions_in(directory):
    """`rmtfs -o DIR -P` over a directory of ours: the daemon opens DIR/modemst1."""
    return {
        "name": "partitions-in-a-directory",
        "description": "the daemon's partitions by label in a directory of the test's",
        "setup": {
            "server": {"args": ["-o", str(directory), "-P", "-v"]},
            "storage": {"fill": "zeros"},
            "modems": [{"partitions": ["/boot/modem_fs1"], "image_sectors": 8}],
        },
        "steps": [{"expect": {"modem_state": "running"}}],
    }


def run_json(run, tmp_path, body):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(body))
    report = tmp_path / "report.json"
    result = run("run", str(scenario), "--json", str(report), timeout=60)
    return result, json.loads(report.read_text())["scenarios"][0]


def test_a_host_block_device_is_refused_and_the_run_is_an_error(run, tmp_path):
    disks = tmp_path / "disks"
    disks.mkdir()
    node = disks / "modemst1"
    try:
        # An unused loop minor: the shim refuses before any open, so no
        # driver is ever reached.
        os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 251))
    except PermissionError:
        pytest.skip("cannot make a block device node here (needs CAP_MKNOD)")
    result, scenario = run_json(run, tmp_path, partitions_in(disks))
    assert result.returncode == 1, result.stdout + result.stderr
    assert scenario["verdict"] == "error", scenario["reason"]
    assert f"tried to open {node}, a block device of the host (7:251)" in scenario["reason"], scenario["reason"]
    assert any(e["source"] == "harness" and e["kind"] == "error" and "block device of the host" in e["detail"]
               for e in scenario["trace"]), "the trace says so"
    assert any("refused to open" in line for line in scenario["daemon_log"]), scenario["daemon_log"]


def test_the_same_scenario_over_a_regular_file_passes(run, tmp_path):
    # The control: the same command line, the label a file of zeros the size
    # of the world's partitions.
    disks = tmp_path / "disks"
    disks.mkdir()
    with open(disks / "modemst1", "wb") as image:
        image.truncate(131072)
    result, scenario = run_json(run, tmp_path, partitions_in(disks))
    assert result.returncode == 0, result.stdout + result.stderr
    assert scenario["verdict"] == "pass", scenario["reason"]


def test_a_write_across_a_partitions_end_is_cut_where_the_device_ends(run, tmp_path):
    body = {
        "name": "across-the-end",
        "description": "a write across the end of a partition device",
        "setup": {"server": {"args": ["-P", "-v"]}},
        "steps": [{"write": {"partition": "/boot/modem_fs2", "sector": 255, "sectors": 2, "expect": "failed"}}],
    }
    result, scenario = run_json(run, tmp_path, body)
    assert scenario["verdict"] == "pass", scenario["reason"]
    past_end = [e for e in scenario["trace"] if e["kind"] == "past_end"]
    assert [(e["file"], e["sector"]) for e in past_end] == [("modem_fs2", 256)], past_end
    assert "ENOSPC" in past_end[0]["detail"], past_end[0]
