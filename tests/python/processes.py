"""Finding the processes a harness under test started."""
import pathlib


def daemon_pids_of(harness_pid):
    """rmtfs processes started (through a keeper) by the harness."""
    pids = []
    for status in pathlib.Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
        if fields.get("Name", "").strip() != "rmtfs":
            continue
        ppid = int(fields.get("PPid", "0"))
        try:
            grand = int(dict(
                line.split(":\t", 1) for line in pathlib.Path(f"/proc/{ppid}/status").read_text().splitlines() if ":\t" in line
            ).get("PPid", "0"))
        except OSError:
            grand = 0
        if harness_pid in (ppid, grand):
            pids.append(int(status.parent.name))
    return pids
