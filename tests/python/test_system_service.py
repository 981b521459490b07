"""The board's own rmtfs service around a kernel-transport run: the agent
stops it before the first scenario and a guardian starts it again when the
agent ends — normally, after a failing scenario, after Ctrl-C, after being
killed outright as when its host vanishes. A service whose daemon drives the
modem (rmtfs -s) is stopped only with --allow-modem-restart.

The board is a directory (RMTFS_HIL_DEVICE_ROOT) inside `rmtfs-hil sandbox`:
systemd's marker /run/systemd/system, and /usr/bin/systemctl a test double
for rmtfs.service whose daemon is a real rmtfs serving in the world; /dev and
/sys are the world's."""
import json
import os
import pathlib
import shlex
import subprocess
import textwrap

import pytest

from conftest import RMTFS

LIBRARY = pathlib.Path(__file__).resolve().parents[2] / "scenarios"

SYSTEMCTL = textwrap.dedent("""\
    #!/bin/sh
    # systemctl for one unit, rmtfs.service: its daemon runs in the world.
    root=$(cd "$(dirname "$0")/../.." && pwd)
    pidfile=$root/run/rmtfs.pid
    command_line="@COMMAND_LINE@"
    alive() {
        [ -f "$pidfile" ] || return 1
        state=$(sed -n 's/^State:[[:space:]]*\\(.\\).*/\\1/p' "/proc/$(cat "$pidfile")/status" 2>/dev/null)
        [ -n "$state" ] && [ "$state" != Z ]
    }
    echo "$*" >> "$root/run/systemctl.log"
    case "$1" in
    is-active) if alive; then echo active; else echo inactive; exit 3; fi ;;
    show) echo "ExecStart={ path=${command_line%% *} ; argv[]=$command_line ; ignore_errors=no ; pid=0 }" ;;
    stop) if alive; then pid=$(cat "$pidfile"); kill "$pid"
              while alive; do sleep 0.05; done; rm -f "$pidfile"; fi ;;
    start) if ! alive; then setsid $command_line > "$root/run/rmtfs.log" 2>&1 < /dev/null &
               echo $! > "$pidfile"; sleep 0.5; fi ;;
    *) echo "systemctl: $1 is not known here" >&2; exit 1 ;;
    esac
""")


def make_board(tmp_path, command_line=f"{RMTFS} -r -o $RMTFS_HIL_STORAGE"):
    root = tmp_path / "board"
    (root / "run/systemd/system").mkdir(parents=True)
    (root / "usr/bin").mkdir(parents=True)
    systemctl = root / "usr/bin/systemctl"
    systemctl.write_text(SYSTEMCTL.replace("@COMMAND_LINE@", command_line))
    systemctl.chmod(0o755)
    return root


def in_sandbox(rmtfs_hil, root, script, timeout=300):
    """`script` in the world, with $BOARD the board's root and its service
    started first; the service is stopped when the script ends."""
    whole = textwrap.dedent(f"""\
        BOARD={shlex.quote(str(root))}
        ln -sfn "$UMOCKDEV_DIR/dev" "$BOARD/dev" && ln -sfn "$UMOCKDEV_DIR/sys" "$BOARD/sys"
        "$BOARD/usr/bin/systemctl" start rmtfs.service
        export RMTFS_HIL_DEVICE_ROOT="$BOARD"
        """) + script + '\nstatus=$?\n"$BOARD/usr/bin/systemctl" stop rmtfs.service\nexit $status\n'
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    return subprocess.run([str(rmtfs_hil), "sandbox", "-q", "--", "/bin/sh", "-c", whole],
                          capture_output=True, text=True, timeout=timeout, env=env)


def agent(rmtfs_hil, *args):
    return " ".join(shlex.quote(str(a)) for a in [rmtfs_hil, "agent", "--transport", "kernel", *args])


def service_log(root):
    return (root / "run/systemctl.log").read_text().split("\n")


def commands(root):
    """The service's stops and starts, in order (its state queries left out)."""
    return [line for line in service_log(root) if line.split(" ")[:1] in (["stop"], ["start"])]


def parsed(lines):
    return [json.loads(line) for line in lines.splitlines() if line.startswith("{")]


def failing_scenario(tmp_path):
    """cold-boot expecting what never holds: a second daemon start."""
    body = json.loads((LIBRARY / "cold-boot.json").read_text())
    body["name"] = "fails-on-purpose"
    body["steps"].append({"expect": {"daemon_starts": 2}})
    path = tmp_path / "fails-on-purpose.json"
    path.write_text(json.dumps(body))
    return path


def test_stopped_for_the_run_and_back_after_a_failing_scenario(rmtfs_hil, tmp_path):
    root = make_board(tmp_path)
    script = agent(rmtfs_hil, LIBRARY / "cold-boot.json", failing_scenario(tmp_path)) + \
        '\necho "after: $("$BOARD/usr/bin/systemctl" is-active rmtfs.service)" >&2'
    ran = in_sandbox(rmtfs_hil, root, script)
    assert ran.returncode == 0, ran.stderr
    lines = parsed(ran.stdout)
    verdicts = {line["result"]["name"]: line["result"]["verdict"] for line in lines if line["agent"] == "result"}
    # Not "already served": the system's daemon was out of the way.
    assert verdicts == {"cold-boot": "pass", "fails-on-purpose": "fail"}, ran.stdout
    assert lines[-1] == {"agent": "done", "interrupted": False}
    assert "stopped rmtfs.service (systemd, active:" in ran.stderr
    assert "rmtfs.service started again" in ran.stderr
    assert "after: active" in ran.stderr
    assert commands(root) == ["start rmtfs.service", "stop rmtfs.service", "start rmtfs.service",
                              "stop rmtfs.service"], service_log(root)


@pytest.mark.parametrize("how", ["INT", "KILL"])
def test_back_after_ctrl_c_and_after_the_agent_is_killed(rmtfs_hil, tmp_path, how):
    """Ctrl-C (SIGINT), and SIGKILL as when the host vanishes and the agent
    dies with it: the guardian starts the service again by itself."""
    root = make_board(tmp_path)
    script = 'export TMPDIR="$BOARD/tmp"; mkdir "$TMPDIR"\n' + \
        agent(rmtfs_hil, LIBRARY) + ' > "$BOARD/agent.out" 2> "$BOARD/agent.err" &\n' + textwrap.dedent(f"""\
        agent=$!
        # Until the run is under way: its first result line.
        for i in $(seq 600); do grep -q '"result"' "$BOARD/agent.out" 2>/dev/null && break; sleep 0.1; done
        "$BOARD/usr/bin/systemctl" is-active rmtfs.service > "$BOARD/during"
        kill -{how} $agent
        wait $agent
        echo "agent status $?" > "$BOARD/agent.status"
        for i in $(seq 300); do "$BOARD/usr/bin/systemctl" is-active rmtfs.service > /dev/null && break; sleep 0.1; done
        "$BOARD/usr/bin/systemctl" is-active rmtfs.service > "$BOARD/after"
        # What the agent left in its scratch space, and after the next run.
        ls "$TMPDIR" | grep -c rmtfs-hil-board- > "$BOARD/left" || :
        """) + agent(rmtfs_hil, LIBRARY / "cold-boot.json") + ' > /dev/null\n' + \
        'ls "$TMPDIR" | grep -c rmtfs-hil-board- > "$BOARD/left-after-the-next-run" || :\n'
    ran = in_sandbox(rmtfs_hil, root, script, timeout=600)
    assert ran.returncode == 0, ran.stderr + (root / "agent.err").read_text()
    assert (root / "during").read_text() == "inactive\n", "the system service ran beside the run's daemon"
    assert (root / "after").read_text() == "active\n", (root / "agent.err").read_text()
    status = (root / "agent.status").read_text()
    assert status == ("agent status 130\n" if how == "INT" else "agent status 137\n"), status
    assert commands(root)[:3] == ["start rmtfs.service", "stop rmtfs.service", "start rmtfs.service"]
    # Killed in the middle of a scenario, the agent leaves its storage
    # directory; the next run removes it (its owner is gone).
    assert (root / "left").read_text() == ("0\n" if how == "INT" else "1\n")
    assert (root / "left-after-the-next-run").read_text() == "0\n"


def test_a_service_that_drives_the_modem_needs_the_flag(rmtfs_hil, tmp_path):
    """Debian's unit runs rmtfs -r -P -s: stopping it stops the modem. Refused
    (exit 3, the service untouched) without --allow-modem-restart; with it,
    stopped and started again."""
    root = make_board(tmp_path, command_line=f"{RMTFS} -r -o $RMTFS_HIL_STORAGE -s")
    refused = in_sandbox(rmtfs_hil, root, agent(rmtfs_hil, LIBRARY / "cold-boot.json"))
    assert refused.returncode == 3, refused.stderr
    assert "stopping it stops the board's modem" in refused.stderr and "--allow-modem-restart" in refused.stderr
    assert refused.stdout == ""
    assert commands(root) == ["start rmtfs.service", "stop rmtfs.service"], "stopped only by the test's own end"

    (root / "run/systemctl.log").unlink()
    allowed = in_sandbox(rmtfs_hil, root, agent(rmtfs_hil, "--allow-modem-restart", LIBRARY / "cold-boot.json"))
    assert allowed.returncode == 0, allowed.stderr
    assert parsed(allowed.stdout)[1]["result"]["verdict"] == "pass", allowed.stdout
    assert commands(root) == ["start rmtfs.service", "stop rmtfs.service", "start rmtfs.service",
                              "stop rmtfs.service"], service_log(root)


def test_a_service_that_cannot_be_started_again_is_said_loudly(rmtfs_hil, tmp_path):
    """The service's start fails after the run: done names it, exit 4."""
    root = make_board(tmp_path)
    script = textwrap.dedent("""\
        # From now on, starting it fails (as a unit whose binary went away).
        sed -i 's|^start) |start) echo "Job for rmtfs.service failed." >\\&2; exit 1;; never) |' \\
            "$BOARD/usr/bin/systemctl"
        """) + agent(rmtfs_hil, LIBRARY / "cold-boot.json")
    ran = in_sandbox(rmtfs_hil, root, script)
    assert ran.returncode == 4, ran.stderr
    done = parsed(ran.stdout)[-1]
    assert done["agent"] == "done" and "rmtfs.service was not started again" in done["not_restored"], done
    assert "NOT started again" in ran.stderr and "Job for rmtfs.service failed." in ran.stderr


def test_no_service_manager_leaves_nothing_to_stop(rmtfs_hil, tmp_path):
    """A board without systemd or init's tools: nothing is stopped, and a
    daemon serving the service there still makes every scenario an error."""
    root = tmp_path / "bare"
    root.mkdir()
    script = f'{RMTFS} -r -o "$RMTFS_HIL_STORAGE" & sleep 1\n' + agent(rmtfs_hil, LIBRARY / "cold-boot.json") + \
        "\nstatus=$?; kill %1; exit $status"
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    whole = f"BOARD={shlex.quote(str(root))}\n" + \
        'ln -sfn "$UMOCKDEV_DIR/dev" "$BOARD/dev" && ln -sfn "$UMOCKDEV_DIR/sys" "$BOARD/sys"\n' + \
        'export RMTFS_HIL_DEVICE_ROOT="$BOARD"\n' + script
    ran = subprocess.run([str(rmtfs_hil), "sandbox", "-q", "--", "/bin/sh", "-c", whole],
                         capture_output=True, text=True, timeout=120, env=env)
    assert ran.returncode == 0, ran.stderr
    result = parsed(ran.stdout)[1]["result"]
    assert result["verdict"] == "error" and "already served" in result["reason"], result
    assert "stopped" not in ran.stderr


def test_a_running_modem_is_refused_and_the_service_put_back(rmtfs_hil, tmp_path):
    """The service does not drive the modem (no -s) and the modem runs: it
    would be a client of the run's daemons. Refused (exit 3) with how to stop
    it; the service, stopped on the way, is started again."""
    root = make_board(tmp_path)
    script = "echo start > /sys/class/remoteproc/remoteproc0/state\n" + agent(rmtfs_hil, LIBRARY / "cold-boot.json")
    ran = in_sandbox(rmtfs_hil, root, script)
    assert ran.returncode == 3, ran.stderr
    assert "the board's modem (remoteproc0) is running" in ran.stderr, ran.stderr
    assert "echo stop > /sys/class/remoteproc/remoteproc0/state" in ran.stderr
    assert ran.stdout == ""
    assert commands(root) == ["start rmtfs.service", "stop rmtfs.service", "start rmtfs.service",
                              "stop rmtfs.service"], service_log(root)
