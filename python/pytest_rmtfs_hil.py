"""pytest plugin for rmtfs-hil.

Scenario files as tests: every scenario JSON file (an object with "name" and
"steps"; JSON Schemas excepted) under the paths pytest is given is one test
item named after the scenario, run as `rmtfs-hil run` runs it, in its own
sandbox, against the real daemon. So `-k NAME`, `-x`, `--lf` and `-m TAG` (each
tag is a marker) work. `skip` is a pytest skip; a scenario with a known_issue
is xfail(strict) when it fails as the issue says, a failure when it fails
otherwise, and XPASS(strict), a failure too, when it passes: a fix shows. A
failure shows the reason, the failing step with its file:line, the trace
around it and the daemon's last log lines.

    /usr/bin/python3 -m pytest scenarios/              # from a checkout
    /usr/bin/python3 -m pytest scenarios/ -k sigkill --junitxml junit.xml

Fixtures for hand-written tests (rigs: the real rmtfs against simulated
modems, python/module.cpp), each closed after the test so no daemon
outlives it:
    rmtfs_hil_module   the `rmtfs_hil` module
    make_rig           make_rig(**options) -> Rig: any RigOptions field by name
                       (coupling="mem-open", on_service_loss="reopen", ...)
    started_rig        a rig whose daemon runs and publishes service 14, and
                       whose modem has booted

Options:
    --rmtfs-server PATH   the daemon under test (default $RMTFS_HIL_SERVER,
                          else /usr/bin/rmtfs); a path that is not an
                          executable file is a usage error
"""
import json
import os

import pytest

DEFAULT_SERVER = "/usr/bin/rmtfs"
# The trace events and daemon log lines a failure shows.
TRACE_LINES = 25
LOG_LINES = 15


def pytest_addoption(parser):
    group = parser.getgroup("rmtfs-hil")
    group.addoption(
        "--rmtfs-server",
        default=None,
        metavar="PATH",
        help=f"the rmtfs daemon scenarios and rigs run (default $RMTFS_HIL_SERVER, else {DEFAULT_SERVER})",
    )


def server_of(config):
    return config.getoption("--rmtfs-server") or os.environ.get("RMTFS_HIL_SERVER") or DEFAULT_SERVER


def pytest_configure(config):
    given = config.getoption("--rmtfs-server")
    if given is not None and not (os.path.isfile(given) and os.access(given, os.X_OK)):
        raise pytest.UsageError(f"--rmtfs-server {given}: not an executable file")


def import_module():
    try:
        import rmtfs_hil
    except ImportError as error:
        raise ImportError(f"the rmtfs_hil module is not importable ({error}): build it (ci/build.sh) and put "
                          "build/python on PYTHONPATH, or install rmtfs-hil") from None
    return rmtfs_hil


# ---------------------------------------------------------------------------
# Scenario files as test items.

def is_scenario_file(path):
    """A JSON object with "name" and "steps" (cheap: other JSON files are not
    ours); a file that mentions "steps" but does not parse is collected too,
    so that its error is shown rather than the file silently left out."""
    if path.suffix != ".json" or path.name.endswith(".schema.json"):
        return False
    try:
        if path.stat().st_size > 16 * 1024 * 1024:
            return False
        text = path.read_text(errors="replace")
    except OSError:
        return False
    if '"steps"' not in text:
        return False
    try:
        body = json.loads(text)
    except ValueError:
        return True
    return isinstance(body, dict) and "steps" in body


def pytest_collect_file(file_path, parent):
    if is_scenario_file(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        module = import_module()
        try:
            info = module.load_scenario(str(self.path))
        except module.ScenarioError as error:
            raise self.CollectError(f"scenario file {self.path}:\n{error}") from None
        item = ScenarioItem.from_parent(self, name=info["name"])
        for tag in info["tags"]:
            if tag.isidentifier():
                self.config.addinivalue_line("markers", f"{tag}: scenarios tagged {tag}")
                item.add_marker(tag)
        if info["known_issue"] is not None:
            item.add_marker(pytest.mark.xfail(reason=f"known issue: {info['known_issue']}", raises=KnownIssue,
                                              strict=True))
        yield item


class ScenarioFailed(Exception):
    """The scenario failed or errored (its result is the argument)."""


class KnownIssue(ScenarioFailed):
    """It failed exactly as its known_issue says."""


class ScenarioItem(pytest.Item):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.result = None  # the ScenarioResult, once run

    def runtest(self):
        module = import_module()
        self.result = module.run_scenario(str(self.path), server=server_of(self.config))
        verdict = self.result.verdict
        self.user_properties.append(("verdict", verdict))
        if verdict == "pass":
            return
        if verdict == "skip":
            # Reported at the scenario's file, not here.
            raise pytest.skip.Exception(self.result.reason, _use_item_location=True)
        if self.result.known_status == "known":
            raise KnownIssue(self.result)
        raise ScenarioFailed(self.result)

    def repr_failure(self, excinfo, style=None):
        if not isinstance(excinfo.value, ScenarioFailed):
            return super().repr_failure(excinfo, style)
        return describe_failure(excinfo.value.args[0])

    def reportinfo(self):
        return self.path, 0, f"scenario {self.name}"


def describe_failure(result):
    lines = [f"{result.verdict}: {result.reason}"]
    if result.known_issue:
        lines.append(f"known issue ({result.known_status or 'not compared'}): {result.known_issue}")
    step = result.failed_step
    ended = None
    if step is not None:
        lines.append(f"failing step {step.index + 1} ({step.kind}) at {step.where}: {step.message}")
        ended = step.ended_ms
    trace = result.trace
    if ended is not None:
        upto = [event for event in trace if event["at_ms"] <= ended]
        trace = upto or trace
    if trace:
        lines.append(f"the trace up to it (last {min(TRACE_LINES, len(trace))} of {len(result.trace)} events):")
        lines += [f"  {event['at_ms']:10.1f} ms  {event['source']:<8} {event['detail']}" for event in trace[-TRACE_LINES:]]
    if result.daemon_log:
        lines.append(f"the daemon's log (last {min(LOG_LINES, len(result.daemon_log))} lines):")
        lines += [f"  {line}" for line in result.daemon_log[-LOG_LINES:]]
    if result.ledger_violations:
        lines.append("the ledger: " + "; ".join(result.ledger_violations))
    lines.append(f"reproduce: {result.reproduce}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Fixtures for hand-written tests.

@pytest.fixture(scope="session")
def rmtfs_hil_module():
    """The `rmtfs_hil` module (fails the test with how to build it when it is not importable)."""
    try:
        return import_module()
    except ImportError as error:
        pytest.fail(str(error))


@pytest.fixture
def make_rig(rmtfs_hil_module, request):
    """make_rig(**options) -> Rig: a rig with any RigOptions field set by name
    (coupling="mem-open", on_service_loss="reopen", ...), closed after the
    test. Skips when the default daemon is not installed."""
    server = server_of(request.config)
    if not os.path.exists(server):
        pytest.skip(f"{server} is not installed (apt install rmtfs, or give --rmtfs-server)")
    made = []

    def _make(**settings):
        options = rmtfs_hil_module.RigOptions()
        options.server = server
        for name, value in settings.items():
            if not hasattr(options, name):
                raise TypeError(f"RigOptions has no option '{name}'")
            setattr(options, name, value)
        rig = rmtfs_hil_module.Rig(options)
        made.append(rig)
        return rig

    yield _make
    for rig in made:
        rig.close()


@pytest.fixture
def started_rig(make_rig):
    """A rig with default options whose daemon runs and publishes service 14,
    and whose modem has booted."""
    rig = make_rig()
    rig.start_daemon()
    assert rig.wait_for_service(), "service 14 never appeared\n" + rig.trace_text(60)
    boot = rig.boot_modem()
    assert boot.ok, boot.reason + "\n" + rig.trace_text(60)
    return rig
