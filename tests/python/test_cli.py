"""The rmtfs-hil command line as a new user meets it."""
import os
import pathlib
import re

import pytest

from conftest import REPO


def project_version() -> str:
    text = (REPO / "CMakeLists.txt").read_text()
    match = re.search(r"project\(rmtfs-hil VERSION ([0-9.]+)", text)
    assert match, "CMakeLists.txt no longer declares the project version where this test looks"
    return match.group(1)


def test_help_teaches_usage_and_exit_statuses(run):
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rmtfs-hil"), result.stdout
    assert "Usage:" in result.stdout
    assert "Exit status:" in result.stdout
    assert result.stderr == ""


def test_help_aliases_agree(run):
    outputs = {flag: run(flag) for flag in ("--help", "-h", "help")}
    for flag, result in outputs.items():
        assert result.returncode == 0, f"{flag}: {result.stderr}"
    assert outputs["-h"].stdout == outputs["--help"].stdout == outputs["help"].stdout


def test_version_matches_the_project(run):
    for flag in ("--version", "-V"):
        result = run(flag)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"rmtfs-hil {project_version()}\n"


def test_no_arguments_is_a_usage_error(run):
    result = run()
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no command given" in result.stderr
    assert "--help" in result.stderr


def test_unknown_option_is_named(run):
    result = run("--frobnicate")
    assert result.returncode == 2
    assert "unknown option '--frobnicate'" in result.stderr


def test_unknown_command_is_named(run):
    result = run("sandbx")
    assert result.returncode == 2
    assert "unknown command 'sandbx'" in result.stderr


def test_help_takes_no_arguments(run):
    result = run("--help", "extra")
    assert result.returncode == 2
    assert "takes no arguments" in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_a_scenario_path_that_is_not_a_small_regular_file_is_refused(run, tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "pipe.json"
        os.mkfifo(path)  # reading it would block forever
        says = "it is a FIFO; a scenario is a regular file"
    elif kind == "device":
        path = pathlib.Path("/dev/zero")  # reading it would never end
        says = "it is a character device; a scenario is a regular file"
    else:
        path = tmp_path / "huge.json"
        with open(path, "wb") as f:
            f.truncate(17 * 1024 * 1024)
        says = "more than the 16 MiB a scenario file may have"
    for command in ("validate", "run"):
        result = run(command, str(path), timeout=20)
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"{path}: cannot read file: " in result.stderr and says in result.stderr, result.stderr
