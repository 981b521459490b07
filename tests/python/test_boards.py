"""Boards as files: `--board NAME|FILE` in `run` and `sandbox`, a user's own
board file taking effect, and a bad one refused with the member at fault."""
import json
import pathlib

import pytest

BOARDS = pathlib.Path(__file__).resolve().parents[2] / "server" / "boards"

# The daemon starts the modem itself (-s): it must find the modem's
# remoteproc, by its modalias or by the qcom-q6v5-mss driver's directory.
SYSFS_BOOT = {
    "name": "daemon-starts-the-modem",
    "description": "rmtfs -s finds the modem's remoteproc and starts it",
    "setup": {"coupling": "rmtfs-sysfs", "server": {"args": ["-o", "{storage}", "-s", "-v"]}},
    "steps": [{"expect": {"service": True, "remoteproc_state": "running", "modem_state": "running"}}],
}


def board_file(tmp_path, name, **changes):
    board = json.loads((BOARDS / "sdm845.json").read_text())
    board["name"] = name
    for member, values in changes.items():
        board[member].update(values)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(board, indent=2))
    return path


def test_a_board_file_is_the_world_the_scenario_runs_in(run, tmp_path, needs_rmtfs):
    scenario = tmp_path / "boot.json"
    scenario.write_text(json.dumps(SYSFS_BOOT))
    # A modem the daemon has no way to find: neither -mss-pil nor -mpss-pas in
    # its compatible, and bound to a driver it does not look under.
    hidden = board_file(tmp_path, "hidden-modem", modem={"compatible": "qcom,example-modem", "driver": "example"})
    found = board_file(tmp_path, "pas-modem", modem={"compatible": "qcom,example-mpss-pas", "driver": "qcom_q6v5_pas"})

    passed = run("run", str(scenario), "--board", str(found), timeout=120)
    assert passed.returncode == 0, passed.stdout + passed.stderr

    report = tmp_path / "r.json"
    failed = run("run", str(scenario), "--board", str(hidden), "--json", str(report), timeout=120)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "the daemon did not publish service 14" in failed.stdout, failed.stdout
    (result,) = json.loads(report.read_text())["scenarios"]
    assert any("Failed to get rprocfd" in line for line in result["daemon_log"]), "the daemon's own complaint is the evidence"
    reproduce = [line for line in failed.stdout.splitlines() if "reproduce:" in line]
    assert reproduce and f"--board {hidden}" in reproduce[0], "the reproduce line keeps the board"


def test_a_scenario_that_names_its_board_keeps_it(run, tmp_path, needs_rmtfs):
    scenario = tmp_path / "boot.json"
    scenario.write_text(json.dumps({**SYSFS_BOOT, "setup": {**SYSFS_BOOT["setup"], "board": "qcm6490"}}))
    hidden = board_file(tmp_path, "hidden-modem", modem={"compatible": "qcom,example-modem", "driver": "example"})
    result = run("run", str(scenario), "--board", str(hidden), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sandbox_takes_a_board_file(run, tmp_path):
    path = board_file(tmp_path, "renamed", modem={"class_device": "remoteproc3"})
    result = run("sandbox", "-q", "--board", str(path), "--", "cat", "/sys/class/remoteproc/remoteproc3/name")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "4080000.remoteproc\n"


@pytest.mark.parametrize("command", [["run", "x.json"], ["sandbox"]])
def test_bad_boards_are_usage_errors_naming_the_mistake(run, tmp_path, command):
    extra = ["--", "true"] if command == ["sandbox"] else []
    unknown = run(*command, "--board", "sdm846", *extra)
    assert unknown.returncode == 2, unknown.stderr
    assert "no board named 'sdm846'" in unknown.stderr and "qcm6490" in unknown.stderr, unknown.stderr

    bad = board_file(tmp_path, "bad", modem={"buffer_bytes": "0x400000"})
    refused = run(*command, "--board", str(bad), *extra)
    assert refused.returncode == 2, refused.stderr
    assert f"{bad}: /modem/buffer_bytes: the modem's buffer must fit" in refused.stderr, refused.stderr

    missing = run(*command, "--board", str(tmp_path / "absent.json"), *extra)
    assert missing.returncode == 2 and "absent.json" in missing.stderr, missing.stderr


def test_every_built_in_board_follows_the_documented_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((BOARDS / "board.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    files = sorted(p for p in BOARDS.glob("*.json") if p.name != "board.schema.json")
    assert len(files) >= 3
    for path in files:
        jsonschema.validate(json.loads(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**json.loads(files[0].read_text()), "typo": 1}, schema)
