"""`storage.board_efs`: a scenario's daemon works on a snapshot of the board's
own EFS partitions, read once per run by the agent (read-only) into its
scratch directory. Against the emulated device through Debian's real adb,
on the loopback world and on the board's own QRTR: the scenario reads what
the board's partitions hold, a wrong expectation of them fails, the
partitions are never written, and nothing of the snapshot stays behind. On
`--target sim`, or on a board without its partitions, such a scenario is
skipped with the capability named."""
import json
import subprocess

import pytest

PARTITIONS = {"modemst1": ("modem_fs1", 0x200000), "modemst2": ("modem_fs2", 0x200000),
              "fsg": ("modem_fsg", 0x200000), "fsc": ("modem_fsc", 0x20000)}


def emulated_partition(label, size):
    """What the emulated device's partition holds: each 4 KiB block starts
    with its stamp, the rest is 0xa5."""
    data = bytearray(b"\xa5" * size)
    for block in range(0, size, 4096):
        stamp = f"rmtfs-hil emulated partition {label} block {block // 4096}\n".encode()
        data[block:block + len(stamp)] = stamp
    return bytes(data)


def sector_hex(label, sector, sectors=1):
    data = emulated_partition(label, PARTITIONS[label][1])
    return data[sector * 512:(sector + sectors) * 512].hex(" ")


def scenario(name, steps):
    return {"name": name, "description": f"test scenario {name}", "targets": ["sim", "adb"],
            "setup": {"storage": {"board_efs": True}}, "steps": steps}


ON_THE_BOARDS_EFS = scenario("on-the-boards-efs", [
    {"read": {"partition": "/boot/modem_fs1", "sector": 0, "sectors": 1, "data": {"hex": sector_hex("modemst1", 0)}}},
    {"read": {"partition": "/boot/modem_fsg", "sector": 8, "sectors": 2, "data": {"hex": sector_hex("fsg", 8, 2)}}},
    {"write": {"partition": "/boot/modem_fs1", "sector": 3, "sectors": 2, "data": {"pattern": "w"}}},
    {"expect": {"storage": [{"file": "modem_fs1", "sector": 3, "sectors": 2, "data": {"pattern": "w"}},
                            {"file": "modem_fsc", "sector": 8, "sectors": 1, "data": {"hex": sector_hex("fsc", 8)}},
                            {"file": "modem_fs2", "sector": 4095, "sectors": 1, "data": {"fill": "0xa5"}}],
                "ledger": "clean"}},
])
# The same partitions expected to hold zeros: the check must fail.
EXPECTS_ZEROS = scenario("expects-zeros-on-the-boards-efs", [
    {"expect": {"storage": [{"file": "modem_fsg", "sector": 1, "sectors": 1, "data": {"fill": "0x00"}}]}},
])


def write_library(directory):
    directory.mkdir()
    for body in (ON_THE_BOARDS_EFS, EXPECTS_ZEROS):
        (directory / f"{body['name']}.json").write_text(json.dumps(body, indent=2))
    return directory


def partitions_untouched(device):
    for label, (_, size) in PARTITIONS.items():
        on_device = (device["root"] / "dev/disk/by-partlabel" / label).read_bytes()
        assert on_device == emulated_partition(label, size), f"{label} changed on the board"
    assert "BLOCK DEVICE WRITE" not in device["log"].read_text()


def leftovers(device):
    return sorted(p.name for p in (device["root"] / "data/local/tmp").glob("rmtfs-hil-*"))


@pytest.mark.parametrize("transport", ["loopback", "kernel"])
def test_scenarios_run_on_a_snapshot_of_the_boards_own_partitions(rmtfs_hil, tmp_path, adb_env, start_device, transport):
    device = start_device("--qrtr") if transport == "kernel" else start_device()
    library = write_library(tmp_path / "lib")
    extra = ["--allow-modem-restart"] if transport == "kernel" else []
    ran = subprocess.run([str(rmtfs_hil), "run", "--target", f"adb:{device['serial']}", "--transport", transport,
                          *extra, str(library), "--json", str(tmp_path / "board.json")],
                         capture_output=True, text=True, timeout=300, env=adb_env)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    report = {s["name"]: s for s in json.loads((tmp_path / "board.json").read_text())["scenarios"]}
    assert report["on-the-boards-efs"]["verdict"] == "pass", report["on-the-boards-efs"]["reason"]
    wrong = report["expects-zeros-on-the-boards-efs"]
    assert wrong["verdict"] == "fail", wrong
    assert "modem_fsg sectors 1+1 do not hold the expected data: sector 1 byte 0 is a5, expected 00" in wrong["reason"], \
        wrong["reason"]
    partitions_untouched(device)
    assert leftovers(device) == [], "the snapshot or a scenario's storage outlived the run"


def test_the_simulation_skips_them_naming_the_capability(rmtfs_hil, tmp_path):
    library = write_library(tmp_path / "lib")
    ran = subprocess.run([str(rmtfs_hil), "run", str(library), "--json", str(tmp_path / "sim.json")],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for s in json.loads((tmp_path / "sim.json").read_text())["scenarios"]:
        assert s["verdict"] == "skip", s
        assert "board_efs (the setup)" in s["reason"], s["reason"]


def test_a_board_without_its_partitions_skips_them(rmtfs_hil, tmp_path, adb_env, device):
    (device["root"] / "dev/disk/by-partlabel/fsg").unlink()
    library = write_library(tmp_path / "lib")
    ran = subprocess.run([str(rmtfs_hil), "run", "--target", f"adb:{device['serial']}", str(library),
                          "--json", str(tmp_path / "board.json")],
                         capture_output=True, text=True, timeout=300, env=adb_env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for s in json.loads((tmp_path / "board.json").read_text())["scenarios"]:
        assert s["verdict"] == "skip" and "board_efs" in s["reason"], s
