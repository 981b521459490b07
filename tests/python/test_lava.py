"""hil/lava: the LAVA test definitions and job templates, checked with Debian's
real LAVA, and report-to-lava.py, checked against fake LAVA helpers.

* Both test definitions pass the check LAVA's server applies to a test
  definition (lava_common.schemas.test.testdef.validate, what its REST API's
  testdef validation calls) and, strictly, the check a job applies to an
  inline definition; both job templates pass lava_common.schemas.validate,
  the server's check of a submitted job. Each check is shown to reject a
  broken copy, so a pass means something.
* report-to-lava.py makes exactly the lava-test-set / lava-test-case calls a
  report asks for, and refuses missing or malformed reports before calling
  anything.
* Both test definitions run under Debian's real LAVA dispatcher (lava-run)
  on an "ssh" device: this machine, seen through an overlay root in a
  private mount namespace (so nothing LAVA writes on the "board" reaches the
  real file system), served by dropbear. LAVA's own parsed results are
  checked: every scenario in its set with its result, the run's own case,
  and the job incomplete when the board lacks QRTR or the agent cannot be
  fetched. The on-board agent is a stand-in with the real agent's --lava
  contract, and the built agent too when the build has `agent --lava`; the
  host side runs a stand-in `rmtfs-hil run` and `adb`.

Needs no build: Debian's lava-common (ci/setup.sh installs it); the lava-run
test also needs root, lava-dispatcher, dropbear-bin, openssh-client,
openssh-sftp-server, curl and git, and says what is missing when it skips.
Run with /usr/bin/python3 -m pytest tests/python/test_lava.py.
"""
import copy
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse

import pytest
from conftest import free_port

yaml = pytest.importorskip("yaml", reason="python3-yaml is not installed (lava-common depends on it)")
try:
    import voluptuous
    from lava_common.schemas import validate as validate_job
    from lava_common.schemas.test.testdef import validate as validate_testdef
except ImportError as error:  # pragma: no cover - depends on the machine
    pytest.skip(f"Debian's lava-common is not importable ({error}): run ci/setup.sh, "
                "and run pytest with /usr/bin/python3", allow_module_level=True)

REPO = pathlib.Path(__file__).resolve().parents[2]
LAVA_DIR = REPO / "hil" / "lava"
ON_BOARD = LAVA_DIR / "rmtfs-hil.yaml"
ADB_HOST = LAVA_DIR / "rmtfs-hil-adb-host.yaml"
TEST_DEFINITIONS = (ON_BOARD, ADB_HOST)
JOBS = (LAVA_DIR / "jobs" / "dragonboard-845c.yaml", LAVA_DIR / "jobs" / "dragonboard-845c-adb-host.yaml")
REPORT_TO_LAVA = LAVA_DIR / "report-to-lava.py"

# The only host a template's placeholders may use: .invalid never resolves.
PLACEHOLDER_HOST = "example.invalid"


def load(path: pathlib.Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def as_inline_job(definition: dict) -> dict:
    """A minimal job that carries `definition` inline: LAVA validates an
    inline definition strictly (no unknown keys), unlike a definition read
    from git at run time."""
    return {
        "job_name": "inline check",
        "device_type": "dragonboard-845c",
        "visibility": "public",
        "timeouts": {"job": {"minutes": 10}},
        "actions": [{"test": {"definitions": [
            {"from": "inline", "name": "rmtfs-hil", "path": "inline/rmtfs-hil.yaml", "repository": definition}
        ]}}],
    }


def validate_definition_strictly(definition: dict):
    validate_testdef(definition)
    validate_job(as_inline_job(definition), strict=True)


def rejection(check, document) -> str:
    """The message LAVA's check gives for `document`; fails the test when it accepts it."""
    try:
        check(document)
    except voluptuous.Invalid as error:
        return str(error)
    pytest.fail(f"LAVA's check accepted a deliberately broken document: {json.dumps(document)[:400]}")


# ---- test definitions ------------------------------------------------------------------


@pytest.mark.parametrize("path", TEST_DEFINITIONS, ids=lambda p: p.name)
def test_definition_passes_lavas_checks(path):
    validate_definition_strictly(load(path))


def drop(key):
    def broken(d):
        del d["metadata"][key]
    return broken


def set_format(d):
    d["metadata"]["format"] = "Lava-Test Test Definition 2.0"


def steps_as_string(d):
    d["run"]["steps"] = "rmtfs-hil agent --lava scenarios"


def install_as_list(d):
    d["install"] = ["set -e"]


# Each breakage, and where LAVA's message must point: a rejection for another
# reason would prove nothing.
DEFINITION_BREAKAGES = {
    "no-format": (drop("format"), "['format']"),
    "no-name": (drop("name"), "['name']"),
    "wrong-format": (set_format, "['format']"),
    "steps-not-a-list": (steps_as_string, "['steps']"),
    "install-not-a-mapping": (install_as_list, "['install']"),
}


@pytest.mark.parametrize("breakage", DEFINITION_BREAKAGES, ids=str)
@pytest.mark.parametrize("path", TEST_DEFINITIONS, ids=lambda p: p.name)
def test_definition_check_rejects_a_broken_copy(path, breakage):
    broken = copy.deepcopy(load(path))
    breaking, where = DEFINITION_BREAKAGES[breakage]
    breaking(broken)
    # Both checks: what the server's testdef validation says, and what a job says.
    for message in (rejection(validate_testdef, broken),
                    rejection(lambda d: validate_job(as_inline_job(d), strict=True), broken)):
        assert where in message, f"rejected for another reason than {where}: {message}"


@pytest.mark.parametrize("path", TEST_DEFINITIONS, ids=lambda p: p.name)
def test_definition_misspelled_section_is_rejected_by_the_strict_check(path):
    broken = copy.deepcopy(load(path))
    broken["parms"] = broken.pop("params")
    message = rejection(lambda d: validate_job(as_inline_job(d), strict=True), broken)
    assert "parms" in message, message


@pytest.mark.parametrize("path", TEST_DEFINITIONS, ids=lambda p: p.name)
def test_definition_parameters_survive_lavas_shell_quoting(path):
    # LAVA writes each parameter as NAME='value' into the shell script, and
    # writes a false-y value (false, 0, null) as '': every default must be a
    # string with no single quote.
    for name, value in load(path)["params"].items():
        assert isinstance(value, str), f"{path.name}: params.{name} is {value!r}, not a string"
        assert "'" not in value, f"{path.name}: params.{name} contains a single quote"


def lava_script(definition: dict, section: str) -> str:
    """The script LAVA generates for a section: parameters, then the steps."""
    lines = [f"{name}='{value}'" for name, value in definition.get("params", {}).items()]
    lines += ["set -e"] if section == "run" else []
    lines += definition[section]["steps"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("section", ["install", "run"])
@pytest.mark.parametrize("path", TEST_DEFINITIONS, ids=lambda p: p.name)
def test_definition_steps_are_posix_sh(path, section):
    # Debian's /bin/sh is dash: bash-only syntax fails to parse there.
    shell = shutil.which("dash") or "/bin/sh"
    script = lava_script(load(path), section)
    checked = subprocess.run([shell, "-n"], input=script, capture_output=True, text=True)
    assert checked.returncode == 0, f"{path.name} {section}: {shell} -n says {checked.stderr}\n{script}"


# ---- job templates ----------------------------------------------------------------------


@pytest.mark.parametrize("path", JOBS, ids=lambda p: p.name)
def test_job_passes_lavas_check(path):
    validate_job(load(path), strict=True, extra_context_variables=[])


@pytest.mark.parametrize("path", JOBS, ids=lambda p: p.name)
def test_job_runs_a_test_definition_of_this_repository_with_its_parameters(path):
    tests = [a["test"] for a in load(path)["actions"] if "test" in a]
    assert tests, f"{path.name} has no test action"
    for test in tests:
        for definition in test["definitions"]:
            target = REPO / definition["path"]
            assert target.is_file(), f"{path.name}: {definition['path']} is not in this repository"
            known = set(load(target)["params"])
            # LAVA passes an unknown parameter on silently: a typo would be lost.
            unknown = set(definition.get("parameters", {})) - known
            assert not unknown, f"{path.name}: {sorted(unknown)} are not parameters of {definition['path']}"


def urls_in(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("url", "repository", "AGENT_URL", "RMTFS_HIL_URL") and isinstance(value, str):
                yield value
            yield from urls_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from urls_in(item)


@pytest.mark.parametrize("path", JOBS, ids=lambda p: p.name)
def test_job_placeholders_cannot_be_mistaken_for_real_artefacts(path):
    urls = list(urls_in(load(path)))
    assert urls
    for url in urls:
        parsed = urllib.parse.urlparse(url)
        assert parsed.hostname == PLACEHOLDER_HOST and "/REPLACE_WITH_" in parsed.path, (
            f"{path.name}: {url} should be a https://{PLACEHOLDER_HOST}/REPLACE_WITH_... placeholder")


def no_job_name(job):
    del job["job_name"]


def bad_visibility(job):
    job["visibility"] = "everyone"


def definition_without_path(job):
    test = next(a["test"] for a in job["actions"] if "test" in a)
    del test["definitions"][0]["path"]


def definition_name_with_space(job):
    test = next(a["test"] for a in job["actions"] if "test" in a)
    test["definitions"][0]["name"] = "rmtfs hil"


def fastboot_without_images(job):
    deploy = next(a["deploy"] for a in job["actions"] if "deploy" in a)
    del deploy["images"]


def action_longer_than_job(job):
    job["timeouts"]["job"] = {"minutes": 5}


JOB_BREAKAGES = {
    "no-job-name": (no_job_name, "['job_name']"),
    "bad-visibility": (bad_visibility, "['visibility']"),
    "definition-without-path": (definition_without_path, "['definitions'][0]['path']"),
    "definition-name-with-space": (definition_name_with_space, "['definitions'][0]['name']"),
    "fastboot-without-images": (fastboot_without_images, "['fastboot']['images']"),
    "action-longer-than-job": (action_longer_than_job, "timeout is larger than job timeout"),
}


@pytest.mark.parametrize("breakage", JOB_BREAKAGES, ids=str)
@pytest.mark.parametrize("path", JOBS, ids=lambda p: p.name)
def test_job_check_rejects_a_broken_copy(path, breakage):
    broken = copy.deepcopy(load(path))
    breaking, where = JOB_BREAKAGES[breakage]
    breaking(broken)
    message = rejection(lambda d: validate_job(d, strict=True, extra_context_variables=[]), broken)
    assert where in message, f"rejected for another reason than {where}: {message}"


# ---- report-to-lava.py ------------------------------------------------------------------

FAKE_HELPER = textwrap.dedent("""\
    #!/usr/bin/python3
    # A fake LAVA helper: records its name and arguments, one JSON line each.
    import json, os, sys
    with open(os.environ["LAVA_CALLS"], "a") as calls:
        calls.write(json.dumps([os.path.basename(sys.argv[0])] + sys.argv[1:]) + "\\n")
    sys.exit(1 if os.path.basename(sys.argv[0]) == os.environ.get("LAVA_FAILING_HELPER") else 0)
    """)


@pytest.fixture
def fake_lava(tmp_path):
    """A PATH whose lava-test-case and lava-test-set record their calls; returns (env, calls())."""
    bin_dir = tmp_path / "fake-lava-bin"
    bin_dir.mkdir()
    for helper in ("lava-test-case", "lava-test-set"):
        (bin_dir / helper).write_text(FAKE_HELPER)
        (bin_dir / helper).chmod(0o755)
    log = tmp_path / "lava-calls.jsonl"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}", LAVA_CALLS=str(log))

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return env, calls


def report_to_lava(env, *args):
    return subprocess.run([sys.executable, str(REPORT_TO_LAVA), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=60)


ONE_OF_EACH = {
    "format": "rmtfs-hil-report",
    "version": 1,
    "interrupted": False,
    "scenarios": [
        {"name": "cold-boot", "verdict": "pass", "reason": ""},
        {"name": "sigkill-mid-write-sector", "verdict": "fail", "reason": "acknowledged write lost"},
        {"name": "storage-eio-read", "verdict": "error", "reason": "the harness could not start the daemon"},
        {"name": "cold-boot-qcm6490-pas", "verdict": "skip", "reason": "not for this target"},
    ],
}

EXPECTED_CASES = [
    ["lava-test-case", "cold-boot", "--result", "pass"],
    ["lava-test-case", "sigkill-mid-write-sector", "--result", "fail"],
    ["lava-test-case", "storage-eio-read", "--result", "unknown"],
    ["lava-test-case", "cold-boot-qcm6490-pas", "--result", "skip"],
]


def test_report_to_lava_reports_each_verdict_in_one_test_set(tmp_path, fake_lava):
    env, calls = fake_lava
    report = tmp_path / "rmtfs-hil.json"
    report.write_text(json.dumps(ONE_OF_EACH))
    done = report_to_lava(env, report, "scenarios")
    assert done.returncode == 0, done.stderr
    assert calls() == [["lava-test-set", "start", "scenarios"], *EXPECTED_CASES, ["lava-test-set", "stop"]]


def test_report_to_lava_names_the_set_after_the_report_by_default(tmp_path, fake_lava):
    env, calls = fake_lava
    report = tmp_path / "nightly.json"
    report.write_text(json.dumps(ONE_OF_EACH))
    assert report_to_lava(env, report).returncode == 0
    assert calls()[0] == ["lava-test-set", "start", "nightly"]


def test_report_to_lava_reads_the_junit_report_too(tmp_path, fake_lava):
    env, calls = fake_lava
    report = tmp_path / "rmtfs-hil.junit.xml"
    report.write_text(textwrap.dedent("""\
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites name="rmtfs-hil" tests="4" failures="1" errors="1" skipped="1">
          <testsuite name="rmtfs-hil" tests="4" failures="1" errors="1" skipped="1">
            <testcase name="cold-boot" classname="boot" time="0.1"/>
            <testcase name="sigkill-mid-write-sector" classname="fault" time="0.2">
              <failure message="acknowledged write lost" type="failure">evidence</failure>
            </testcase>
            <testcase name="storage-eio-read" classname="fault" time="0.1">
              <error message="could not start" type="error">why</error>
            </testcase>
            <testcase name="cold-boot-qcm6490-pas" classname="boot" time="0">
              <skipped message="not for this target"/>
            </testcase>
          </testsuite>
        </testsuites>
        """))
    done = report_to_lava(env, report, "scenarios")
    assert done.returncode == 0, done.stderr
    assert calls() == [["lava-test-set", "start", "scenarios"], *EXPECTED_CASES, ["lava-test-set", "stop"]]


def test_report_to_lava_makes_names_lava_can_carry(tmp_path, fake_lava):
    env, calls = fake_lava
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"scenarios": [{"name": "two words=x", "verdict": "pass"}]}))
    done = report_to_lava(env, report, "my set")
    assert done.returncode == 0, done.stderr
    assert calls()[:2] == [["lava-test-set", "start", "my_set"], ["lava-test-case", "two_words_x", "--result", "pass"]]
    assert "'two words=x' is reported to LAVA as 'two_words_x'" in done.stderr


MALFORMED_REPORTS = {
    "not-json": ("{\"scenarios\": [", "not valid JSON"),
    "empty": ("", "neither a JSON nor a JUnit XML report (it is empty)"),
    "no-scenarios": ("{\"summary\": {}}", "no \"scenarios\" list"),
    "unknown-verdict": ("{\"scenarios\": [{\"name\": \"a\", \"verdict\": \"known\"}]}", "/scenarios/0/verdict"),
    "nameless": ("{\"scenarios\": [{\"verdict\": \"pass\"}]}", "/scenarios/0/name"),
    "other-format": ("{\"format\": \"pytest-json\", \"scenarios\": []}", "not 'rmtfs-hil-report'"),
    "a-list": ("[]", "a JSON report is an object"),
    "broken-xml": ("<testsuites><testcase name=\"a\">", "not well-formed XML"),
    "other-xml": ("<html/>", "not <testsuites> or <testsuite>"),
}


@pytest.mark.parametrize("kind", MALFORMED_REPORTS, ids=str)
def test_report_to_lava_refuses_a_malformed_report_before_calling_lava(tmp_path, fake_lava, kind):
    env, calls = fake_lava
    text, expected = MALFORMED_REPORTS[kind]
    report = tmp_path / "rmtfs-hil.json"
    report.write_text(text)
    done = report_to_lava(env, report)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert expected in done.stderr and str(report) in done.stderr, done.stderr
    assert calls() == [], "a malformed report must not reach LAVA half-reported"


def test_report_to_lava_refuses_a_missing_report(tmp_path, fake_lava):
    env, calls = fake_lava
    done = report_to_lava(env, tmp_path / "absent.json")
    assert done.returncode == 2
    assert "absent.json: no such report" in done.stderr, done.stderr
    assert calls() == []


def test_report_to_lava_outside_lava_says_so(tmp_path):
    report = tmp_path / "r.json"
    report.write_text(json.dumps(ONE_OF_EACH))
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    done = report_to_lava(dict(os.environ, PATH=str(empty_bin)), report)
    assert done.returncode == 3
    assert "lava-test-set is not on PATH" in done.stderr, done.stderr


def test_report_to_lava_closes_the_set_when_a_helper_fails(tmp_path, fake_lava):
    env, calls = fake_lava
    report = tmp_path / "r.json"
    report.write_text(json.dumps(ONE_OF_EACH))
    done = report_to_lava(dict(env, LAVA_FAILING_HELPER="lava-test-case"), report)
    assert done.returncode == 3
    assert "`lava-test-case cold-boot --result pass` exited with status 1" in done.stderr, done.stderr
    # An open set would swallow whatever the test definition reports next.
    assert calls() == [["lava-test-set", "start", "r"], EXPECTED_CASES[0], ["lava-test-set", "stop"]]


def test_report_to_lava_usage_error_without_a_report():
    done = subprocess.run([sys.executable, str(REPORT_TO_LAVA)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "usage: report-to-lava.py" in done.stderr


# ---- the on-board test definition under Debian's real LAVA dispatcher -------------------

# A stand-in for `rmtfs-hil` with the board agent's documented --lava
# contract: one test set per PATH (its name without .json), one test case per
# scenario (the verdict comes from the stand-in scenario file: error becomes
# unknown), helpers' output on stderr; exit 0 when every scenario was
# reported, and, like the real agent on a kernel without QRTR, exit 3 for
# --transport kernel.
STAND_IN_AGENT = textwrap.dedent("""\
    #!/usr/bin/python3
    import json, pathlib, subprocess, sys
    args = sys.argv[1:]
    if args == ["--version"]:
        print("rmtfs-hil 0.0.0-stand-in"); sys.exit(0)
    assert args[0] == "agent" and "--lava" in args, args
    options, paths, i = {}, [], 1
    while i < len(args):
        if args[i] == "--lava": i += 1
        elif args[i].startswith("--"): options[args[i]] = args[i + 1]; i += 2
        else: paths.append(args[i]); i += 1
    if options.get("--transport") == "kernel":
        print("rmtfs-hil agent: --transport kernel: this kernel has no AF_QIPCRTR sockets", file=sys.stderr)
        sys.exit(3)
    def helper(*argv):
        subprocess.run(list(argv), stdout=sys.stderr, check=True)
    lava = {"pass": "pass", "fail": "fail", "skip": "skip", "error": "unknown"}
    for path in map(pathlib.Path, paths):
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        helper("lava-test-set", "start", path.name[:-5] if path.name.endswith(".json") else path.name)
        for f in files:
            scenario = json.loads(f.read_text())
            name, verdict = scenario["name"], scenario["stand_in_verdict"]
            print(json.dumps({"agent": "result", "result": {"name": name, "verdict": verdict}}), flush=True)
            helper("lava-test-case", name, "--result", lava[verdict])
        helper("lava-test-set", "stop")
    """)

STAND_IN_SCENARIOS = {"s1-cold-boot": "pass", "s2-lost-write": "fail", "s3-no-daemon": "error", "s4-other-soc": "skip"}

LAVA_RUN_TIMEOUT_S = 600


def lava_run_missing() -> list:
    missing = []
    if os.geteuid() != 0:
        missing.append("root (a mount namespace and chroot for the board, as LAVA itself is run)")
    programs = ("lava-run", "unshare", "chroot", "mount", "dropbear", "dropbearkey", "ssh", "scp", "ssh-keygen",
                "git", "curl")
    extra_path = os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
    missing += [p for p in programs if not shutil.which(p, path=os.environ.get("PATH", "") + extra_path)]
    if not pathlib.Path("/usr/lib/sftp-server").exists():
        missing.append("/usr/lib/sftp-server (openssh-sftp-server: Debian's scp speaks SFTP)")
    if not pathlib.Path("/var/lib/lava/dispatcher/tmp").is_dir():
        missing.append("/var/lib/lava/dispatcher/tmp (lava-dispatcher)")
    return missing


class SshBoard:
    """This machine as a LAVA "ssh" device: dropbear, chrooted into an
    overlay of / whose writes land in a tmpfs of its own mount namespace.
    Everything it writes disappears with the namespace."""

    def __init__(self, work: pathlib.Path, installed: dict):
        self.work = work
        self.port = free_port()
        self.key = work / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        host_key = work / "host_key"
        subprocess.run([shutil.which("dropbearkey", path="/usr/bin:/usr/sbin"), "-t", "ed25519", "-f",
                        str(host_key)], check=True, capture_output=True)
        ns = work / "ns"
        ns.mkdir()
        root = ns / "root"
        # Programs "installed" on the board: {name on PATH: file on this machine}.
        links = "\n".join(f"ln -s {target} {root}/usr/local/bin/{name}" for name, target in installed.items())
        # A fresh login environment for root: the machine's own dotfiles may
        # change PATH or the prompt.
        script = textwrap.dedent(f"""\
            set -e
            mount -t tmpfs rmtfs-hil-board {ns}
            mkdir {ns}/upper {ns}/work {root}
            mount -t overlay rmtfs-hil-board -o lowerdir=/,upperdir={ns}/upper,workdir={ns}/work {root}
            mount -t proc proc {root}/proc
            mount --rbind /dev {root}/dev
            mount -t tmpfs -o mode=0700 rmtfs-hil-board-home {root}/root
            mkdir -m 0700 {root}/root/.ssh
            cp {self.key}.pub {root}/root/.ssh/authorized_keys
            printf '%s\\n' "PS1='root@rmtfs-hil-board:~# '" > {root}/root/.profile
            : > {root}/root/.bashrc
            {links}
            exec chroot {root} /usr/sbin/dropbear -F -E -s -p 127.0.0.1:{self.port} -r {host_key}
            """)
        self.log = work / "dropbear.log"
        self.process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--fork", "/bin/sh", "-c",
                                         script], stdout=self.log.open("w"), stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.skip(f"the ssh board did not start: {self.log.read_text()[-800:]}")
            time.sleep(0.1)

    def device_dictionary(self) -> dict:
        """What lava-server renders from its ssh.jinja2 for this board, reduced
        to what the ssh deploy, boot and test shell read."""
        return {
            "constants": {
                "posix": {"lava_test_sh_cmd": "/bin/sh", "lava_test_results_dir": "/lava-%s",
                          "lava_test_shell_file": "~/.bashrc"},
                "shutdown-message": "The system is going down for reboot NOW",
                "kernel-start-message": "Linux version [0-9]",
                "default-shell-prompt": "lava-test: # ",
                "spawn_maxread": "4092",
                "failure_retry": 1,
                "boot_retry": None,
            },
            "parameters": {"pass": None},
            "actions": {
                "deploy": {"connections": {"serial": None}, "methods": {"ssh": {
                    "options": ["-o", "Compression=yes", "-o", "PasswordAuthentication=no", "-o", "LogLevel=FATAL"],
                    "host": "127.0.0.1", "port": self.port, "user": "root", "identity_file": str(self.key)}}},
                "boot": {"connections": {"serial": None}, "methods": {"ssh": None}},
            },
            "timeouts": {"actions": {"lava-test-shell": {"minutes": 3}},
                         "connections": {"lava-test-shell": {"seconds": 10}}},
        }

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def git_repository(path: pathlib.Path, files: dict) -> str:
    """A throwaway git repository holding `files` ({relative path: bytes}); its URL."""
    for name, content in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(content)
    git = ["git", "-C", str(path), "-c", "user.name=test_lava", "-c", "user.email=test_lava@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "test definitions under test"], check=True)
    return path.as_uri()


def run_lava(work: pathlib.Path, job: dict, device: dict):
    """lava-run, with the dispatcher's scratch directory on a tmpfs of its own
    mount namespace; returns (LAVA's result records, the log text)."""
    (work / "job.yaml").write_text(yaml.safe_dump(job, sort_keys=False))
    (work / "device.yaml").write_text(yaml.safe_dump(device, sort_keys=False))
    job_id = str(random.randint(10**8, 10**9))
    script = (f"mount -t tmpfs lava-dispatcher-tmp /var/lib/lava/dispatcher/tmp && exec lava-run --job-id {job_id} "
              f"--output-dir {work}/output --device {work}/device.yaml {work}/job.yaml")
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
                          capture_output=True, text=True, timeout=LAVA_RUN_TIMEOUT_S)
    (work / "lava-run.log").write_text(done.stdout + done.stderr)
    records = []
    for line in (done.stdout + done.stderr).splitlines():
        # lava-run logs to stderr without a server: one YAML flow mapping per
        # line (not JSON: some values come tagged, `! "195"`).
        if '"lvl": "results"' not in line:
            continue
        entry = yaml.safe_load(line)
        records.append(entry["msg"])
    return records, done.stdout + done.stderr


def on_board_job(repository: str, parameters: dict) -> dict:
    return {
        "device_type": "ssh",
        "job_name": "rmtfs-hil test definition on a local ssh board",
        "visibility": "public",
        "priority": "medium",
        "timeouts": {"job": {"minutes": 9}, "action": {"minutes": 8}, "connection": {"minutes": 2}},
        "actions": [
            {"deploy": {"to": "ssh", "os": "debian", "timeout": {"minutes": 2}}},
            {"boot": {"method": "ssh", "connection": "ssh", "prompts": ["root@rmtfs-hil-board:~# "],
                      "timeout": {"minutes": 2}}},
            {"test": {"timeout": {"minutes": 8}, "definitions": [
                {"repository": repository, "from": "git", "path": "hil/lava/rmtfs-hil.yaml", "name": "rmtfs-hil",
                 "parameters": parameters}]}},
        ],
    }


def case(records, name):
    found = [r for r in records if r.get("definition") == "0_rmtfs-hil" and r.get("case") == name]
    assert len(found) == 1, f"LAVA recorded {len(found)} results named {name}: {found}"
    return found[0]


def job_result(records):
    return next(r for r in records if r.get("definition") == "lava" and r.get("case") == "job")


@pytest.fixture
def lava_board_repository(tmp_path):
    missing = lava_run_missing()
    if missing:
        pytest.skip("lava-run on a local ssh board needs " + ", ".join(missing))
    repository = tmp_path / "repository"
    files = {f"hil/lava/{p.name}": p.read_bytes() for p in LAVA_DIR.iterdir() if p.is_file()}
    for name, verdict in STAND_IN_SCENARIOS.items():
        files[f"scenarios/{name}.json"] = json.dumps({"name": name, "stand_in_verdict": verdict}).encode()
    url = git_repository(repository, files)
    agent = tmp_path / "stand-in-agent"
    agent.write_text(STAND_IN_AGENT)
    agent.chmod(0o755)
    return url, agent


@pytest.fixture
def ssh_board(tmp_path):
    boards = []

    def start(**installed):
        work = tmp_path / f"board{len(boards)}"
        work.mkdir()
        boards.append(SshBoard(work, installed))
        return boards[-1]

    yield start
    for board in boards:
        board.stop()


def test_lava_run_reports_each_scenario_of_the_on_board_definition(tmp_path, lava_board_repository, ssh_board):
    repository, agent = lava_board_repository
    board = ssh_board()
    parameters = {"AGENT_URL": agent.as_uri(), "SCENARIOS": "scenarios", "BOARD": "sdm845",
                  "TRANSPORT": "loopback", "SKIP_INSTALL": "true"}
    records, log = run_lava(tmp_path, on_board_job(repository, parameters), board.device_dictionary())
    where = f"lava-run's log: {tmp_path / 'lava-run.log'}"
    for name, verdict in STAND_IN_SCENARIOS.items():
        result = case(records, name)
        assert result["result"] == {"error": "unknown"}.get(verdict, verdict), (result, where)
        assert result.get("set") == "scenarios", (result, where)
    agent_case = case(records, "rmtfs-hil-agent")
    assert agent_case["result"] == "pass" and float(agent_case["measurement"]) == 0, (agent_case, where)
    assert "set" not in agent_case, "the agent's own result belongs to no scenario set"
    definition = next(r for r in records if r.get("definition") == "lava" and r.get("case") == "0_rmtfs-hil")
    assert definition["result"] == "pass", (definition, where)
    assert job_result(records)["result"] == "pass", (job_result(records), where)


def test_lava_run_ends_the_job_incomplete_when_the_board_lacks_qrtr(tmp_path, lava_board_repository, ssh_board):
    repository, agent = lava_board_repository
    board = ssh_board()
    parameters = {"AGENT_URL": agent.as_uri(), "TRANSPORT": "kernel", "SKIP_INSTALL": "true"}
    records, log = run_lava(tmp_path, on_board_job(repository, parameters), board.device_dictionary())
    where = f"lava-run's log: {tmp_path / 'lava-run.log'}"
    agent_case = case(records, "rmtfs-hil-agent")
    assert agent_case["result"] == "fail" and float(agent_case["measurement"]) == 3, (agent_case, where)
    job = job_result(records)
    assert job["result"] == "fail" and job.get("error_type") == "Test", (job, where)
    assert "exited 3, the board lacks what it needs" in job.get("error_msg", ""), (job, where)
    assert not [r for r in records if r.get("set")], "no scenario ran, so no scenario was reported"


def test_lava_run_ends_the_job_incomplete_when_the_agent_cannot_be_fetched(tmp_path, lava_board_repository,
                                                                           ssh_board):
    repository, agent = lava_board_repository
    board = ssh_board()
    parameters = {"AGENT_URL": (tmp_path / "no-such-agent").as_uri(), "TRANSPORT": "loopback", "SKIP_INSTALL": "true"}
    records, log = run_lava(tmp_path, on_board_job(repository, parameters), board.device_dictionary())
    where = f"lava-run's log: {tmp_path / 'lava-run.log'}"
    job = job_result(records)
    # LAVA's word for a failed install.sh: the test stage could not start.
    assert job["result"] == "fail" and "Unable to start test stage" in job.get("error_msg", ""), (job, where)
    assert not [r for r in records if r.get("definition") == "0_rmtfs-hil"], "nothing may run without the agent"


def built_agent_with_lava(snapshot: pathlib.Path):
    """A copy of the build's rmtfs-hil with its shim (bin/../lib, where it
    looks for it), so that a rebuild during the run cannot swap it; (path,
    why not)."""
    build = pathlib.Path(os.environ.get("RMTFS_HIL_BUILD_DIR", REPO / "build"))
    exe, shim = build / "bin" / "rmtfs-hil", build / "lib" / "librmtfs_hil_shim.so"
    if not exe.is_file() or not shim.is_file():
        return None, f"no {exe} and {shim}: build first (ci/build.sh) or set RMTFS_HIL_BUILD_DIR"
    (snapshot / "bin").mkdir(parents=True)
    (snapshot / "lib").mkdir()
    shutil.copy2(exe, snapshot / "bin" / "rmtfs-hil")
    shutil.copy2(shim, snapshot / "lib" / shim.name)
    exe = snapshot / "bin" / "rmtfs-hil"
    helped = subprocess.run([str(exe), "agent", "--help"], capture_output=True, text=True, timeout=30)
    if "--lava" not in helped.stdout:
        return None, f"{build / 'bin' / 'rmtfs-hil'} has no `agent --lava` (built before it existed?): rebuild it"
    return exe, ""


def test_lava_run_with_the_built_agent(tmp_path, lava_board_repository, ssh_board):
    exe, why = built_agent_with_lava(tmp_path / "build-snapshot")
    if exe is None:
        pytest.skip(why)
    # The library's cold boot, marked for boards too (the library's
    # scenarios are sim-only today, and the agent skips those), next to the
    # test definitions in the repository LAVA clones.
    scenario = json.loads((REPO / "scenarios" / "cold-boot.json").read_text())
    scenario["targets"] = ["sim", "adb"]
    repository = git_repository(tmp_path / "repository-with-board-scenario", {
        **{f"hil/lava/{p.name}": p.read_bytes() for p in LAVA_DIR.iterdir() if p.is_file()},
        "board-scenarios/cold-boot.json": json.dumps(scenario, indent=2).encode(),
    })
    # The built agent is installed on the board (on PATH) rather than
    # fetched: it finds its shim next to itself.
    board = ssh_board(**{"rmtfs-hil": exe})
    parameters = {"AGENT_URL": "", "SCENARIOS": "board-scenarios", "TRANSPORT": "loopback", "SKIP_INSTALL": "true"}
    records, log = run_lava(tmp_path, on_board_job(repository, parameters), board.device_dictionary())
    where = f"lava-run's log: {tmp_path / 'lava-run.log'}"
    result = case(records, "cold-boot")
    # The verdict is the daemon's business; that it reached LAVA, in its set, is this test's.
    assert result.get("set") == "board-scenarios" and result["result"] in ("pass", "fail"), (result, where)
    agent_case = case(records, "rmtfs-hil-agent")
    assert agent_case["result"] == "pass", (agent_case, where)
    assert job_result(records)["result"] == "pass", (job_result(records), where)


# A stand-in for the host side: `rmtfs-hil run --json FILE ... PATH` writes
# the report the real one writes (verdicts from the stand-in scenario files)
# and exits 1 when a scenario failed or errored, as the real one does; `adb`
# knows only wait-for-device.
STAND_IN_HOST = textwrap.dedent("""\
    #!/usr/bin/python3
    import json, pathlib, sys
    args = sys.argv[1:]
    if args == ["--version"]:
        print("rmtfs-hil 0.0.0-stand-in"); sys.exit(0)
    assert args[0] == "run", args
    assert args[args.index("--target") + 1] == "adb:stand-in-serial", args
    report = pathlib.Path(args[args.index("--json") + 1])
    scenarios = [json.loads(f.read_text()) for f in sorted(pathlib.Path(args[-1]).glob("*.json"))]
    verdicts = [{"name": s["name"], "verdict": s["stand_in_verdict"]} for s in scenarios]
    report.write_text(json.dumps({"format": "rmtfs-hil-report", "version": 1, "interrupted": False,
                                  "scenarios": verdicts}))
    sys.exit(1 if any(v["verdict"] in ("fail", "error") for v in verdicts) else 0)
    """)

STAND_IN_ADB = textwrap.dedent("""\
    #!/bin/sh
    [ "$1" = -s ] && [ "$2" = stand-in-serial ] && [ "$3" = wait-for-device ]
    """)


def test_lava_run_reports_each_scenario_of_the_adb_host_definition(tmp_path, lava_board_repository, ssh_board):
    # The host-side definition runs in a docker test shell in a lab; here the
    # ssh board plays the container (no docker daemon here), which changes
    # where the shell runs, not what LAVA makes of its steps.
    repository, _ = lava_board_repository
    host, adb = tmp_path / "stand-in-host", tmp_path / "stand-in-adb"
    host.write_text(STAND_IN_HOST)
    adb.write_text(STAND_IN_ADB)
    host.chmod(0o755)
    adb.chmod(0o755)
    board = ssh_board(adb=adb)
    parameters = {"RMTFS_HIL_URL": host.as_uri(), "SCENARIOS": "scenarios", "SERIAL": "stand-in-serial",
                  "SKIP_INSTALL": "true"}
    job = on_board_job(repository, parameters)
    job["actions"][2]["test"]["definitions"][0].update(path="hil/lava/rmtfs-hil-adb-host.yaml",
                                                         name="rmtfs-hil-adb-host")
    records, log = run_lava(tmp_path, job, board.device_dictionary())
    where = f"lava-run's log: {tmp_path / 'lava-run.log'}"
    for name, verdict in STAND_IN_SCENARIOS.items():
        found = [r for r in records if r.get("definition") == "0_rmtfs-hil-adb-host" and r.get("case") == name]
        assert len(found) == 1, (name, found, where)
        assert found[0]["result"] == {"error": "unknown"}.get(verdict, verdict), (found, where)
        assert found[0].get("set") == "scenarios", (found, where)
    run_case = next(r for r in records if r.get("case") == "rmtfs-hil-run")
    # Exit 1 (some scenario failed) is a finished run: the failures are the cases above.
    assert run_case["result"] == "pass" and float(run_case["measurement"]) == 1, (run_case, where)
    assert job_result(records)["result"] == "pass", (job_result(records), where)
