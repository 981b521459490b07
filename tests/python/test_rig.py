"""The rmtfs_hil Python module against Debian's rmtfs: the simulated modem's
cold boot under each coupling policy, the service starting late, restarts
under fatal and reopening modems, faults that land at an exact request or
sector write, I/O faults through the shim, and power loss — each judged by
the write ledger. Rigs come from the project's pytest plugin
(python/pytest_rmtfs_hil.py: make_rig)."""
import signal
import time

import pytest


def sectors(count, salt):
    """`count` 512-byte sectors of recognisable bytes."""
    return bytes((salt ^ (i // 512 * 7) ^ (i & 0xFF)) & 0xFF for i in range(count * 512))


def started(rig):
    rig.start_daemon()
    assert rig.wait_for_service(), "service 14 never appeared\n" + rig.trace_text(60)
    return rig


@pytest.mark.parametrize(
    "coupling, extra_args",
    [("manual", []), ("rmtfs-sysfs", ["-s"]), ("service-watch", []), ("mem-open", [])],
)
def test_cold_boot_under_each_coupling_policy(make_rig, coupling, extra_args):
    rig = make_rig(coupling=coupling, server_args=["-o", "{storage}", "-v", *extra_args])
    started(rig)
    if coupling == "manual":
        rig.run_for(200)
        assert rig.modem_state() == "offline", "manual: only the scenario boots the modem"
        rig.start_modem()
    boot = rig.wait_for_boot()
    assert boot is not None, f"{coupling} never booted the modem\n" + rig.trace_text(60)
    assert boot.ok, boot.reason
    assert rig.remoteproc_state() == "running"
    assert rig.modem_state() == "running"


def test_mem_open_stops_the_modem_when_the_daemon_closes_the_memory_device(make_rig):
    rig = started(make_rig(coupling="mem-open"))
    assert rig.wait_for_boot().ok
    rig.signal_daemon(signal.SIGTERM)
    assert rig.wait_for_daemon_exit() == "exited 0"
    rig.run_for(50)
    assert rig.remoteproc_state() == "offline", rig.trace_text(40)
    assert rig.modem_state() == "offline"


def test_service_absent_at_boot_then_started_late(make_rig):
    rig = make_rig()
    rig.start_modem()
    rig.run_for(300)
    assert rig.modem_state() == "waiting_for_service"
    started(rig)
    boot = rig.wait_for_boot()
    assert boot is not None and boot.ok, rig.trace_text(60)


def test_fatal_modem_crashes_on_restart_and_recovery_boots_it(make_rig):
    rig = started(make_rig(on_service_loss="fatal"))
    assert rig.boot_modem().ok
    rig.restart_daemon()
    boot = rig.wait_for_boot(nth=2)
    assert rig.modem_crashes() == 1, rig.trace_text(60)
    assert boot is not None and boot.ok, rig.trace_text(60)
    assert rig.write(partition=1, sector=3, data=sectors(2, 0x41)).outcome == "ok"
    assert rig.check_storage() == []


def test_reopening_modem_survives_a_restart(make_rig):
    rig = started(make_rig(on_service_loss="reopen"))
    assert rig.boot_modem().ok
    rig.restart_daemon()
    assert rig.wait_for_service()
    rig.run_for(300)
    assert rig.modem_state() == "running", rig.trace_text(60)
    assert rig.modem_crashes() == 0
    assert rig.write(partition=0, sector=4, data=sectors(3, 0x42)).outcome == "ok"
    assert rig.check_storage() == []


def test_sigkill_when_the_second_write_reaches_the_daemon(make_rig):
    rig = started(make_rig())
    assert rig.boot_modem().ok
    before = rig.storage_file("modem_fs1")
    fault = rig.fault_at_request("RW_IOVEC", 2, "sigkill")
    assert rig.write(partition=0, sector=8, data=sectors(4, 0x11)).outcome == "ok"
    assert not rig.fault_fired(fault)
    lost = rig.write(partition=0, sector=16, data=sectors(4, 0x22))
    assert rig.fault_fired(fault)
    assert lost.outcome == "unknown", lost
    assert rig.wait_for_daemon_exit() == "killed by SIGKILL"
    after = rig.storage_file("modem_fs1")
    assert after[16 * 512 : 20 * 512] == before[16 * 512 : 20 * 512], "the unread request reached storage"
    assert rig.check_storage() == []


@pytest.mark.parametrize("k", range(1, 65))
def test_sigkill_after_the_kth_sector_write_of_a_64_sector_write(make_rig, k):
    rig = started(make_rig())
    assert rig.boot_modem().ok
    before = rig.storage_file("modem_fs2")
    data = sectors(64, 0x5A)
    rig.fault_after_write(k, "sigkill")
    result = rig.write(partition=1, sector=32, data=data)
    assert result.outcome == "unknown", f"k={k}: the killed write was answered: {result}"
    assert rig.wait_for_daemon_exit() == "killed by SIGKILL"
    after = rig.storage_file("modem_fs2")
    landed = [after[(32 + s) * 512 : (33 + s) * 512] == data[s * 512 : (s + 1) * 512] for s in range(64)]
    assert landed == [s < k for s in range(64)], f"k={k}: exactly the first k sectors must be on storage"
    assert after[: 32 * 512] == before[: 32 * 512] and after[96 * 512 :] == before[96 * 512 :]
    # The write's fate is unknown: old or new per sector is allowed.
    assert rig.check_storage() == []


def test_eio_on_a_storage_write_is_refused_and_leaves_the_ledger_whole(make_rig):
    rig = started(make_rig())
    assert rig.boot_modem().ok
    fault = rig.io_fault("write", "EIO", file="modem_fs1", nth=3)
    result = rig.write(partition=0, sector=0, data=sectors(8, 0x33))
    assert rig.io_fault_hits(fault) == 1
    assert result.outcome == "failed", result
    assert rig.check_storage() == []
    assert rig.write(partition=0, sector=0, data=sectors(8, 0x34)).outcome == "ok"
    assert rig.check_storage() == []


def test_power_loss_keeps_what_fdatasync_made_durable(make_rig):
    rig = started(make_rig(on_service_loss="fatal"))
    assert rig.boot_modem().ok
    assert rig.write(partition=0, sector=10, data=sectors(4, 0x61)).outcome == "ok"
    # The second write dies after 2 of its 4 sectors, before its fdatasync.
    rig.fault_after_write(2, "sigstop")
    held = rig.write(partition=0, sector=20, data=sectors(4, 0x62))
    assert held.outcome == "unknown"
    assert rig.unsynced_bytes == 2 * 512
    reverted = rig.lose_power()
    assert reverted == [("modem_fs1", 20 * 512, 2 * 512)], reverted
    after = rig.storage_file("modem_fs1")
    assert after[10 * 512 : 14 * 512] == sectors(4, 0x61), "an acknowledged (synced) write was lost"
    assert rig.check_storage() == []
    started(rig)
    assert rig.boot_modem().ok


@pytest.mark.parametrize("error", ["EIO", "ENOSPC"])
def test_storage_write_errors_fail_the_request(make_rig, error):
    rig = started(make_rig())
    assert rig.boot_modem().ok
    rig.io_fault("write", error, nth=1, times=0)
    assert rig.write(partition=1, sector=4, data=sectors(2, 0x33)).outcome == "failed"
    assert any("failed to write sector" in line for line in rig.daemon_log)
    assert rig.check_storage() == []


def test_a_short_write_is_not_retried_and_tears_a_sector(make_rig):
    rig = started(make_rig())
    assert rig.boot_modem().ok
    rig.io_fault("write", file="modem_fs1", nth=2, short_bytes=100)
    assert rig.write(partition=0, sector=40, data=sectors(4, 0x34)).outcome == "failed"
    violations = rig.check_storage()
    # A correct server would write the rest of the sector; rmtfs 1.0 gives up.
    assert len(violations) == 1 and "sector 41: torn sector" in violations[0], violations


def test_eio_on_a_storage_read_is_answered_as_success(make_rig):
    rig = started(make_rig(ask_storage_reads=True))
    assert rig.boot_modem().ok
    rig.io_fault("read", "EIO", file="modem_fs1")
    read = rig.read(partition=0, sector=8, count=1)
    # A correct server fails the read; rmtfs 1.0 answers success with stale data.
    assert read.ok, "rmtfs now refuses a failed read: " + read.detail
    assert read.data != rig.storage_file("modem_fs1")[8 * 512 : 9 * 512]
    assert "read mismatch" in read.detail


def test_a_failed_fdatasync_is_acknowledged_and_power_loss_then_loses_the_write(make_rig):
    rig = started(make_rig())
    assert rig.boot_modem().ok
    rig.io_fault("sync", "EIO", file="modem_fs1")
    # A correct server fails a write it could not make durable; rmtfs 1.0 acknowledges it.
    assert rig.write(partition=0, sector=60, data=sectors(4, 0x35)).outcome == "ok"
    rig.lose_power()
    violations = rig.check_storage()
    assert len(violations) == 1 and "sectors 60-63: acknowledged write lost" in violations[0], violations


def test_a_later_successful_fdatasync_does_not_save_what_a_failed_one_left(make_rig):
    # Linux since 4.13: the failed sync's pages are no longer dirty, so the
    # next sync, which succeeds, does not write them; power loss takes them.
    rig = started(make_rig())
    assert rig.boot_modem().ok
    rig.io_fault("sync", "EIO", file="modem_fs1")
    assert rig.write(partition=0, sector=60, data=sectors(4, 0x35)).outcome == "ok"  # rmtfs 1.0 acknowledges it
    assert rig.write(partition=0, sector=70, data=sectors(2, 0x37)).outcome == "ok"  # its sync succeeds
    rig.lose_power()
    violations = rig.check_storage()
    assert len(violations) == 1 and "sectors 60-63: acknowledged write lost" in violations[0], violations
    # Written again, a sector is dirty again: the next good sync keeps it.
    rig.start_daemon()
    assert rig.boot_modem().ok


def test_eio_reading_the_shared_memory_fails_the_write(make_rig):
    rig = started(make_rig(ask_memory_io=True))
    assert rig.boot_modem().ok
    rig.io_fault("read", "EIO", target="memory")
    assert rig.write(partition=0, sector=50, data=sectors(2, 0x36)).outcome == "failed"
    assert rig.check_storage() == []


@pytest.mark.parametrize("options, fault, why", [
    ({}, dict(call="read", error="EIO"), "storage reads are not watched: turn on ask_storage_reads"),
    ({}, dict(call="write", error="EIO", target="memory"), "I/O on the memory device is not watched"),
    ({}, dict(call="write", error="EIO", file="modem_fs9"), "there is no storage file 'modem_fs9'"),
])
def test_an_io_fault_that_could_never_fire_is_refused(make_rig, options, fault, why):
    rig = make_rig(**options)
    with pytest.raises(ValueError, match="could never fire: " + why):
        rig.io_fault(**fault)


def test_a_modem_that_crashes_on_a_refused_open_is_restarted(make_rig):
    rig = started(make_rig(on_open_failure="crash"))
    rig.io_fault("open", "EACCES", file="modem_fsg")
    assert not rig.boot_modem().ok
    second = rig.wait_for_boot(nth=2)
    assert second is not None and second.ok, rig.trace_text(40)
    assert rig.modem_crashes() == 1


def test_no_name_service_then_the_userspace_one(make_rig):
    rig = make_rig(kernel_name_service=False)
    rig.start_daemon()
    assert rig.wait_for_daemon_exit() == "exited 0"  # rmtfs 1.0: a failure, reported as success
    assert "failed to publish rmtfs service" in rig.daemon_log
    rig.start_name_service()
    rig.start_daemon()
    assert rig.boot_modem().ok, rig.trace_text(40)


def test_bad_options_are_refused_with_the_name_of_the_option(rmtfs_hil_module):
    options = rmtfs_hil_module.RigOptions()
    options.coupling = "mem_open"
    with pytest.raises(ValueError, match="unknown coupling policy 'mem_open'"):
        rmtfs_hil_module.Rig(options)


def test_a_write_the_modem_cannot_send_raises_instead_of_aborting(make_rig):
    rig = make_rig()
    with pytest.raises(ValueError, match="no handle for /boot/modem_fs1"):
        rig.write(partition=0, sector=0, data=bytes(512))
    rig = started(rig)
    assert rig.boot_modem().ok
    with pytest.raises(ValueError, match="do not fit the modem's 1048576-byte buffer"):
        rig.write(partition=0, sector=0, data=bytes(2049 * 512))
    assert rig.write(partition=0, sector=0, data=bytes(2048 * 512)).outcome == "ok"


def test_the_trace_carries_typed_events(make_rig):
    """events() gives each event's fields, as the JSON report writes them:
    nothing a test reads has to be parsed out of a detail line."""
    rig = started(make_rig())
    assert rig.boot_modem().ok
    booted = len(rig.events())
    io_fault = rig.io_fault("write", "EIO", file="modem_fs1", nth=2)
    assert rig.write(partition=0, sector=8, data=sectors(4, 0x11)).outcome == "failed"
    fault = rig.fault_at_request("RW_IOVEC", 1, "sigkill")
    assert rig.write(partition=0, sector=16, data=sectors(1, 0x22)).outcome == "unknown"
    assert rig.wait_for_daemon_exit() == "killed by SIGKILL"
    events = rig.events()

    def where(source, kind):
        return [e for e in events if e["source"] == source and e["kind"] == kind]

    states = [e["state"] for e in where("remoteproc", "state")]
    assert states[0] == "running" and set(states) <= {"offline", "running", "crashed"}, where("remoteproc", "state")
    started_events = where("server", "started")
    assert len(started_events) == 1 and started_events[0]["pid"] > 0, started_events
    def requests(since):
        delivered = [e.get("packet", {}) for e in events[since:] if (e["source"], e["kind"]) == ("fabric", "deliver")]
        return [p for p in delivered if p.get("qmi", {}).get("kind") == "request"]

    assert requests(0)[0]["qmi"]["message"] == "OPEN", requests(0)[:3]
    after_boot = requests(booted)
    assert [p["qmi"]["message"] for p in after_boot] == ["RW_IOVEC", "RW_IOVEC"], after_boot
    assert all(p["type"] == "DATA" and p["to"]["port"] == 14 and p["from"]["node"] != p["to"]["node"] for p in after_boot)
    [hit] = where("server", "io_fault")
    assert hit["io_fault"] == io_fault and hit["file"] == "modem_fs1" and hit["sector"] == 9, hit
    [fired] = where("harness", "fault")
    assert fired["fault"] == fault, fired
    [ended] = where("server", "ended")
    assert ended["exit"] == {"signal": signal.SIGKILL}, ended


def test_a_second_python_thread_runs_freely_during_a_long_rig_call(started_rig):
    """Long calls release the GIL: a counting thread counts about as fast
    while the rig runs its loop as while this thread sleeps (holding the GIL,
    the call would let it count a few percent of that)."""
    import threading

    counts = {"n": 0}
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counts["n"] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        time.sleep(0.05)  # the counter is running
        before = counts["n"]
        time.sleep(0.4)
        free = counts["n"] - before
        before = counts["n"]
        started_rig.run_for(400)
        during = counts["n"] - before
    finally:
        stop.set()
        counter.join()
    assert during >= free / 4, f"the counting thread counted {during} during a 400 ms run_for, {free} in 400 ms of sleep"


def test_the_modem_has_one_method_per_request_with_typed_answers(started_rig):
    modem = started_rig.modem()
    assert modem.partitions == ["/boot/modem_fs1", "/boot/modem_fs2", "/boot/modem_fsg", "/boot/modem_fsc"]
    opened = modem.open("/boot/modem_fsg")
    assert opened.answered and opened.ok and opened.message == "OPEN response"
    assert isinstance(opened.caller_id, int)
    buffer = modem.alloc_buff(opened.caller_id, 4096)
    assert buffer.ok and buffer.address == started_rig.modem().alloc_buff(opened.caller_id, 512).address
    # rmtfs 1.0 answers GET_DEV_ERROR of an open handle with a failure (a known issue).
    dev_error = modem.get_dev_error(opened.caller_id)
    assert dev_error.answered and (dev_error.result, dev_error.error) == (1, 1)
    # Data as bytes, bytearray or memoryview; partitions by name, short name or index.
    data = bytes(range(256)) * 4
    assert modem.write("/boot/modem_fs2", 6, data).outcome == "ok"
    assert modem.write("modem_fs2", 8, bytearray(data)).outcome == "ok"
    assert modem.write(1, 10, memoryview(data)).outcome == "ok"
    for sector in (6, 8, 10):
        assert modem.read("modem_fs2", sector, 2).data == data
    assert started_rig.check_storage() == []
    # rmtfs 1.0 with -v dies closing any handle but 0 (a known issue): close 0.
    fs1 = modem.open("/boot/modem_fs1")
    assert fs1.caller_id == 0, fs1
    closed = modem.close(fs1.caller_id)
    assert closed.ok and closed.message == "CLOSE response", closed
    # Hand-built bytes: a header that claims a TLV that is not there; rmtfs
    # 1.0 (libqrtr) drops it without an answer, and the wait ends at rest.
    raw = modem.raw(bytes([0x00, 0x09, 0x00, 0x01, 0x00, 0x04, 0x00]))
    assert not raw.answered and raw.failure == "timeout", raw
    assert "the daemon waits for input with nothing left to read" in raw.detail, raw.detail


@pytest.mark.parametrize("call, error, text", [
    (lambda m: m.write(0, -1, bytes(512)), ValueError, "sector must be from 0 to 4294967295, not -1"),
    (lambda m: m.write(0, 1.5, bytes(512)), TypeError, "sector must be an int, not float"),
    (lambda m: m.write(0, 1, "text"), TypeError, "data must be bytes, bytearray or memoryview, not str"),
    (lambda m: m.write(0, 1, bytes(100)), ValueError, "data must be whole 512-byte sectors, not 100 bytes"),
    (lambda m: m.write(0, 1, bytes(4_000_000 + 1)), ValueError, "not 4000001 bytes"),
    (lambda m: m.write("/boot/nope", 1, bytes(512)), ValueError, "no partition '/boot/nope' (the modem's: /boot/modem_fs1"),
    (lambda m: m.write(9, 1, bytes(512)), ValueError, "partition must be from 0 to 3, not 9"),
    (lambda m: m.write(None, 1, bytes(512)), TypeError, "partition must be a name (str) or an index (int), not NoneType"),
    (lambda m: m.read(0, 0, 0), ValueError, "count must be at least 1"),
    (lambda m: m.close(True), TypeError, "caller_id must be an int, not bool"),
    (lambda m: m.close(2 ** 40), ValueError, "caller_id must be from 0 to 4294967295, not 1099511627776"),
    (lambda m: m.close(2 ** 80), ValueError, "caller_id must be from 0 to 4294967295, not that large a number"),
    (lambda m: m.open(b"/boot/modem_fs1"), TypeError, "path must be a str, not bytes"),
    (lambda m: m.alloc_buff(0, -5), ValueError, "size must be from 0 to 4294967295, not -5"),
    (lambda m: m.raw([1, 2]), TypeError, "qmi must be bytes, bytearray or memoryview, not list"),
])
def test_bad_arguments_are_short_python_exceptions(started_rig, call, error, text):
    with pytest.raises(error) as raised:
        call(started_rig.modem())
    assert text in str(raised.value)
    assert len(str(raised.value)) < 300, "a message never echoes a payload"


def test_a_modem_that_is_not_there_is_named(make_rig):
    rig = make_rig()
    with pytest.raises(ValueError, match=r"no modem 3 \(the rig has 1\)"):
        rig.modem(3)
