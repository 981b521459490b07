"""The rmtfs_hil module's type stubs (python/rmtfs_hil.pyi): they name
exactly what the module has, and `mypy --strict` accepts a test written
against them and rejects a wrong one."""
import ast
import inspect
import os
import subprocess
import sys

import pytest

from conftest import REPO

STUBS = REPO / "python" / "rmtfs_hil.pyi"

USER_TEST = '''
import rmtfs_hil


def check_a_write_survives_a_restart(server: str) -> None:
    options = rmtfs_hil.RigOptions()
    options.server = server
    with rmtfs_hil.Rig(options) as rig:
        rig.start_daemon()
        assert rig.wait_for_service()
        assert rig.boot_modem().ok
        modem = rig.modem()
        opened = modem.open("/boot/modem_fs1")
        handle: int = opened.caller_id if opened.caller_id is not None else 0
        assert modem.get_dev_error(handle).answered
        assert modem.write("/boot/modem_fs1", 8, bytearray(1024)).outcome == "ok"
        rig.signal_daemon(rmtfs_hil.SIGKILL)
        rig.restart_daemon()
        data: bytes = modem.read(0, 8, 2).data
        assert data == bytes(1024) and rig.check_storage() == []


def check_a_scenario(path: str) -> str:
    result = rmtfs_hil.run_scenario(path, seed=3)
    step = result.failed_step
    where = step.where if step is not None else ""
    return result.verdict + where + str(len(result.trace))
'''

WRONG_TEST = '''
import rmtfs_hil


def wrong(rig: rmtfs_hil.Rig) -> int:
    rig.modem().open(5)
    return rmtfs_hil.run_scenario("x.json").verdict
'''


def stub_names():
    """{name: set of member names, or None for a function or constant} from the stub file."""
    names = {}
    for node in ast.parse(STUBS.read_text()).body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = {n.name if isinstance(n, ast.FunctionDef) else n.target.id
                                for n in node.body if isinstance(n, (ast.FunctionDef, ast.AnnAssign))}
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = None
        elif isinstance(node, (ast.AnnAssign, ast.Assign)):
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            names[target.id] = None
    return names


# What a class has besides its public members (construction and `with`).
SPECIAL = {"__init__", "__enter__", "__exit__"}
# Type aliases of the stub file, not names of the module.
ALIASES = {"Buffer", "Partition", "ScenarioSource"}


def test_the_stubs_name_exactly_what_the_module_has(rmtfs_hil_module):
    stubs = stub_names()
    module = {}
    for name in dir(rmtfs_hil_module):
        if name.startswith("_"):
            continue
        obj = getattr(rmtfs_hil_module, name)
        is_class = inspect.isclass(obj) and not issubclass(obj, BaseException)
        module[name] = {k for k in vars(obj) if not k.startswith("_")} if is_class else None
    for name, members in module.items():
        assert name in stubs, f"rmtfs_hil.{name} is not in {STUBS.name}"
        if members is not None:
            assert stubs[name] - SPECIAL == members, (name, sorted(members ^ (stubs[name] - SPECIAL)))
    assert set(stubs) - set(module) == ALIASES, set(stubs) - set(module)


def mypy(tmp_path, source):
    if subprocess.run([sys.executable, "-c", "import mypy"], capture_output=True).returncode != 0:
        pytest.fail("mypy is not installed for /usr/bin/python3: ci/setup.sh installs Debian's mypy")
    path = tmp_path / "user_test.py"
    path.write_text(source)
    env = dict(os.environ, MYPYPATH=str(STUBS.parent))
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
                           str(path)], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)


def test_mypy_strict_accepts_a_test_using_the_module(tmp_path):
    ran = mypy(tmp_path, USER_TEST)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Success: no issues found in 1 source file" in ran.stdout


def test_mypy_strict_rejects_a_wrong_use(tmp_path):
    ran = mypy(tmp_path, WRONG_TEST)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert 'Argument 1 to "open" of "Modem" has incompatible type "int"; expected "str"' in ran.stdout, ran.stdout
    assert 'Incompatible return value type (got "str", expected "int")' in ran.stdout, ran.stdout
