#!/usr/bin/env python3
"""Reports a finished `rmtfs-hil run` to LAVA: one `lava-test-case` per scenario,
all inside one `lava-test-set`.

The host-side test definition (rmtfs-hil-adb-host.yaml) needs this because
`rmtfs-hil run --target adb` has no --lava of its own: it writes a report, and
this turns the report into LAVA results. It reads either report rmtfs-hil
writes: --json FILE (preferred: `{"scenarios": [{"name", "verdict"}, ...]}`)
or --junit FILE; which one is decided by the file's first character.

Verdicts become LAVA results: pass -> pass, fail -> fail, skip -> skip, and
error -> unknown (the harness or the machine could not run the scenario: that
is neither a pass nor a failure of the daemon).

The whole report is checked before anything is sent, so a malformed report
sends nothing. The LAVA helpers are run as programs from PATH with argument
lists, never through a shell.

Exit status: 0 every scenario reported; 2 usage, or the report is missing or
malformed; 3 a LAVA helper is not on PATH or did not succeed.

Python standard library only: it runs in LAVA test shells and containers that
have nothing but python3.
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

EXIT_OK = 0
EXIT_BAD_REPORT = 2
EXIT_NO_LAVA = 3

# rmtfs-hil's verdicts and LAVA's words for them.
LAVA_RESULT = {"pass": "pass", "fail": "fail", "skip": "skip", "error": "unknown"}

# LAVA carries a name inside a console signal (`<LAVA_SIGNAL_TESTCASE
# TEST_CASE_ID=name RESULT=...>`) and as a directory name: whitespace, '=',
# '<', '>' and '/' would break it. rmtfs-hil's own names never contain them.
UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")

# A report is one run's results; anything far bigger is not a report.
REPORT_SIZE_MAX_BYTES = 256 * 1024 * 1024


class BadReport(Exception):
    """The report cannot be read or is not an rmtfs-hil report."""


class LavaHelperFailed(Exception):
    """lava-test-case or lava-test-set is missing or did not succeed."""


def lava_name(name: str) -> str:
    """`name` as LAVA can carry it; changed names are reported on stderr."""
    safe = UNSAFE_NAME_CHARACTERS.sub("_", name)
    if safe != name:
        print(f"report-to-lava: {name!r} is reported to LAVA as {safe!r}", file=sys.stderr)
    return safe


def results_from_json(document, where: str):
    """[(scenario name, rmtfs-hil verdict)] from a --json report."""
    if not isinstance(document, dict):
        raise BadReport(f"{where}: a JSON report is an object, not {type(document).__name__}")
    if "format" in document and document["format"] != "rmtfs-hil-report":
        raise BadReport(f"{where}: format is {document['format']!r}, not 'rmtfs-hil-report'")
    scenarios = document.get("scenarios")
    if not isinstance(scenarios, list):
        raise BadReport(f"{where}: no \"scenarios\" list: not an rmtfs-hil --json report")
    results = []
    for index, scenario in enumerate(scenarios):
        at = f"{where}: /scenarios/{index}"
        if not isinstance(scenario, dict):
            raise BadReport(f"{at}: a scenario is an object")
        name, verdict = scenario.get("name"), scenario.get("verdict")
        if not isinstance(name, str) or not name:
            raise BadReport(f"{at}/name: expected a non-empty string, found {name!r}")
        if verdict not in LAVA_RESULT:
            raise BadReport(f"{at}/verdict: expected one of {', '.join(LAVA_RESULT)}, found {verdict!r}")
        results.append((name, verdict))
    if document.get("interrupted") is True:
        print(f"report-to-lava: {where}: the run was interrupted; reporting the "
              f"{len(results)} scenarios that finished", file=sys.stderr)
    return results


def results_from_junit(text: str, where: str):
    """[(scenario name, rmtfs-hil verdict)] from a --junit report."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise BadReport(f"{where}: not well-formed XML: {error}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise BadReport(f"{where}: the root element is <{root.tag}>, not <testsuites> or <testsuite>")
    results = []
    for index, case in enumerate(root.iter("testcase")):
        name = case.get("name")
        if not name:
            raise BadReport(f"{where}: <testcase> number {index + 1} has no name")
        if case.find("failure") is not None:
            verdict = "fail"
        elif case.find("error") is not None:
            verdict = "error"
        elif case.find("skipped") is not None:
            verdict = "skip"
        else:
            verdict = "pass"
        results.append((name, verdict))
    return results


def read_report(path: pathlib.Path):
    where = str(path)
    try:
        if path.stat().st_size > REPORT_SIZE_MAX_BYTES:
            raise BadReport(f"{where}: larger than {REPORT_SIZE_MAX_BYTES} bytes: not a report")
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise BadReport(f"{where}: no such report (did `rmtfs-hil run` get as far as writing it?)") from None
    except OSError as error:
        raise BadReport(f"{where}: cannot read it: {error.strerror}") from None
    start = text.lstrip()[:1]
    if start == "<":
        return results_from_junit(text, where)
    if start in ("{", "["):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadReport(f"{where}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
        return results_from_json(document, where)
    raise BadReport(f"{where}: neither a JSON nor a JUnit XML report" + (" (it is empty)" if not start else ""))


def run_lava_helper(argv):
    try:
        completed = subprocess.run(argv, check=False)
    except FileNotFoundError:
        raise LavaHelperFailed(f"{argv[0]} is not on PATH (it is there inside a LAVA test shell)") from None
    if completed.returncode != 0:
        raise LavaHelperFailed(f"`{' '.join(argv)}` exited with status {completed.returncode}")


def default_set_name(report: pathlib.Path) -> str:
    """output/rmtfs-hil.json -> rmtfs-hil."""
    name = report.name
    for suffix in (".json", ".xml"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name or "rmtfs-hil"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="report-to-lava.py",
        description="Report each scenario of an rmtfs-hil --json (or --junit) report to LAVA "
        "with lava-test-case, inside one lava-test-set.",
    )
    parser.add_argument("report", type=pathlib.Path, help="the report `rmtfs-hil run --json FILE` wrote")
    parser.add_argument("set_name", nargs="?", help="the test set's name (default: the report's file name "
                        "without .json or .xml)")
    arguments = parser.parse_args(argv)

    try:
        results = read_report(arguments.report)
    except BadReport as error:
        print(f"report-to-lava: {error}", file=sys.stderr)
        return EXIT_BAD_REPORT
    set_name = lava_name(arguments.set_name or default_set_name(arguments.report))
    if not set_name.strip("._-"):
        print(f"report-to-lava: {arguments.set_name!r} cannot be a LAVA test set name", file=sys.stderr)
        return EXIT_BAD_REPORT

    try:
        run_lava_helper(["lava-test-set", "start", set_name])
        try:
            for name, verdict in results:
                run_lava_helper(["lava-test-case", lava_name(name), "--result", LAVA_RESULT[verdict]])
        finally:
            # A set left open would swallow the test cases reported after it.
            run_lava_helper(["lava-test-set", "stop"])
    except LavaHelperFailed as error:
        print(f"report-to-lava: {error}", file=sys.stderr)
        return EXIT_NO_LAVA
    print(f"report-to-lava: reported {len(results)} scenarios in test set {set_name}", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
