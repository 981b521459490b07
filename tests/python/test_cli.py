"""The rmtfs-hil command line as a new user meets it."""
import re

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
