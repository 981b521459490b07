"""The HTML report in a real browser: headless Chromium renders the sample
report (bin/report_sample of the build under test) and the screenshot must
show a page, with a sequence diagram, not a blank or broken one.

The PNG is decoded here with zlib alone (no PIL): chunks and CRCs, IHDR,
IDAT, the five scanline filters."""
import collections
import os
import pathlib
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = pathlib.Path(os.environ.get("RMTFS_HIL_CHROMIUM", "/usr/bin/chromium"))
WIDTH, HEIGHT = 1280, 2000

# Colours the report draws with (engine/report_html.cpp): the lane headers of
# the sequence diagram, the fault band across it and the fault marks.
LANE_COLOURS = {
    "modem": (0x05, 0x96, 0x69),
    "rmtfs": (0x25, 0x63, 0xEB),
    "name service": (0x7C, 0x3A, 0xED),
    "remoteproc": (0xD9, 0x77, 0x06),
    "harness": (0xB9, 0x1C, 0x1C),
}
FAULT_BAND = (0xFD, 0xE2, 0xE2)
FAULT_RED = (0xDC, 0x26, 0x26)


# ---- PNG ---------------------------------------------------------------------------------

class Png:
    def __init__(self, width, height, channels, pixels):
        self.width, self.height, self.channels = width, height, channels
        self.pixels = pixels  # bytes, rows of width * channels, filters undone

    def row(self, y):
        """The pixels of row y as (r, g, b) tuples."""
        c = self.channels
        line = self.pixels[y * self.width * c:(y + 1) * self.width * c]
        return list(zip(line[0::c], line[1::c], line[2::c]))

    def region(self, top, bottom):
        """Every (r, g, b) of rows top..bottom-1."""
        out = []
        for y in range(max(0, top), min(self.height, bottom)):
            out.extend(self.row(y))
        return out


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(data: bytes) -> Png:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG: bad signature"
    pos, ihdr, idat, seen_end = 8, None, [], False
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert len(body) == length, f"truncated {kind!r} chunk"
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"bad CRC in {kind!r} chunk"
        pos += 12 + length
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            seen_end = True
            break
    assert ihdr is not None, "no IHDR chunk"
    assert idat, "no IDAT chunk"
    assert seen_end, "no IEND chunk"
    width, height, depth, colour_type, compression, filtering, interlace = ihdr
    assert depth == 8, f"bit depth {depth}: expected 8"
    assert colour_type in (2, 6), f"colour type {colour_type}: expected RGB (2) or RGBA (6)"
    assert (compression, filtering, interlace) == (0, 0, 0), "unexpected compression, filter method or interlace"
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    assert len(raw) == height * (stride + 1), f"IDAT holds {len(raw)} bytes, expected {height * (stride + 1)}"

    out = bytearray(height * stride)
    prev = bytearray(stride)
    bpp = channels
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = bytearray(raw[start + 1:start + 1 + stride])
        if ftype == 0:
            pass
        elif ftype == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:  # Paeth
            for i in range(stride):
                if i >= bpp:
                    line[i] = (line[i] + _paeth(line[i - bpp], prev[i], prev[i - bpp])) & 0xFF
                else:
                    line[i] = (line[i] + prev[i]) & 0xFF
        else:
            raise AssertionError(f"row {y}: unknown filter type {ftype}")
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return Png(width, height, channels, bytes(out))


def test_png_decoder_undoes_every_filter():
    """The decoder against a PNG built here, one filter type per row."""
    width, height, bpp = 5, 5, 3
    rows = [bytes((x * 40 + y * 7 + c * 3) & 0xFF for x in range(width) for c in range(bpp)) for y in range(height)]
    raw = bytearray()
    prev = bytes(width * bpp)
    for ftype, row in enumerate(rows):
        encoded = bytearray()
        for i, value in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            up = prev[i]
            upleft = prev[i - bpp] if i >= bpp else 0
            predictor = [0, left, up, (left + up) >> 1, _paeth(left, up, upleft)][ftype]
            encoded.append((value - predictor) & 0xFF)
        raw += bytes([ftype]) + encoded
        prev = row

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))
    image = decode_png(png)
    assert image.pixels == b"".join(rows)
    with pytest.raises(AssertionError, match="bad CRC"):
        decode_png(png[:-5] + bytes([png[-5] ^ 1]) + png[-4:])


def build_dir() -> pathlib.Path:
    """The build under test, as conftest.py finds it (RMTFS_HIL_BUILD_DIR, default build/)."""
    return pathlib.Path(os.environ.get("RMTFS_HIL_BUILD_DIR", REPO / "build"))


# ---- the browser -------------------------------------------------------------------------

def chromium() -> pathlib.Path:
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: the HTML report test needs headless Chromium "
                    "(Debian package 'chromium'). Run ci/setup.sh, which installs it (CI does).")
    return CHROMIUM


def run_chromium(*args, timeout=120):
    with tempfile.TemporaryDirectory(prefix="rmtfs-hil-chromium-") as profile:
        command = [str(chromium()), "--headless=new", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                   "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
                   "--mute-audio", f"--user-data-dir={profile}"]
        if os.geteuid() == 0:
            command.append("--no-sandbox")  # the sandbox refuses to run as root
        command += list(args)
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"chromium did not finish within {timeout} s: {' '.join(command)}")


@pytest.fixture(scope="module")
def sample_report_dir(tmp_path_factory):
    """The sample report, written by the build's report_sample."""
    exe = build_dir() / "bin" / "report_sample"
    if not exe.is_file():
        pytest.fail(f"{exe} does not exist: build first (ci/build.sh) or set RMTFS_HIL_BUILD_DIR")
    out = tmp_path_factory.mktemp("report") / "html"
    done = subprocess.run([str(exe), str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert pathlib.Path(done.stdout.strip()) == out / "index.html"
    return out


_screenshots = {}


def screenshot_of(report_dir: pathlib.Path) -> Png:
    """The page in a WIDTH x HEIGHT window, decoded; taken once per report.

    Called from the tests rather than a fixture, so that no browser is a
    test failure, not an error in setup."""
    if report_dir not in _screenshots:
        page = report_dir / "index.html"
        shot = report_dir / "screenshot.png"
        done = run_chromium(f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", page.as_uri())
        assert shot.is_file() and shot.stat().st_size > 0, (
            f"chromium wrote no screenshot (exit {done.returncode}):\n{done.stderr[-2000:]}")
        if os.environ.get("RMTFS_HIL_KEEP_SCREENSHOT"):
            shutil.copy(shot, os.environ["RMTFS_HIL_KEEP_SCREENSHOT"])
        _screenshots[report_dir] = decode_png(shot.read_bytes())
    return _screenshots[report_dir]


def test_the_sample_report_is_written(sample_report_dir):
    for name in ("index.html", "report.json", "junit.xml", "summary.txt", "matrix.txt"):
        assert (sample_report_dir / name).stat().st_size > 0, name
    html = (sample_report_dir / "index.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert re.search(r"<title>rmtfs-hil report: 5 scenarios, 2 passed, 1 failed, 1 error, 1 skipped</title>", html)


def test_the_browser_parses_the_page_and_runs_its_script(sample_report_dir):
    """--dump-dom: the DOM after the page's own script ran (it marks <html>)."""
    done = run_chromium("--dump-dom", (sample_report_dir / "index.html").as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title, dom[:500]
    assert title.group(1) == "rmtfs-hil report: 5 scenarios, 2 passed, 1 failed, 1 error, 1 skipped"
    assert re.search(r'<html[^>]*class="js"', dom), "the inline script did not run"
    assert 'data-report-ready="1"' in dom
    assert dom.count('<svg class="timeline"') == 5
    # The hostile scenario's text stayed text: no element of its making.
    assert "<b>bold</b>" not in dom
    assert dom.count("<script") == 1


def test_the_screenshot_is_a_page_not_a_blank(sample_report_dir):
    image = screenshot_of(sample_report_dir)
    assert (image.width, image.height) == (WIDTH, HEIGHT)
    counts = collections.Counter(image.region(0, image.height))
    background, background_pixels = counts.most_common(1)[0]
    total = image.width * image.height
    non_background = total - background_pixels
    assert len(counts) >= 200, f"only {len(counts)} distinct colours: a blank or broken page?"
    assert non_background / total >= 0.1, (
        f"{non_background} of {total} pixels differ from the background {background}: a blank page?")


def _rows_with(image, colour, at_least):
    return [y for y in range(image.height) if image.row(y).count(colour) >= at_least]


def test_the_timeline_is_drawn_with_lanes_and_faults(sample_report_dir):
    image = screenshot_of(sample_report_dir)
    # The first scenario's sequence diagram: its lane headers (solid boxes, ~110 px wide) ...
    header_rows = _rows_with(image, LANE_COLOURS["modem"], 80)
    assert header_rows, "no lane header of the sequence diagram in the screenshot"
    top = header_rows[0]
    for lane, colour in LANE_COLOURS.items():
        assert image.row(top + 4).count(colour) >= 80, f"lane header '{lane}' missing at row {top + 4}"
    # ... and below them a fault's band across the lanes.
    band_rows = [y for y in _rows_with(image, FAULT_BAND, 300) if y > top]
    assert band_rows, "no fault band below the lane headers"
    bottom = min(image.height, band_rows[0] + 60)
    region = image.region(top, bottom)
    colours = collections.Counter(region)
    assert len(colours) >= 40, f"the timeline region (rows {top}..{bottom}) has only {len(colours)} colours"
    assert colours[FAULT_RED] >= 20, "no fault mark (red) in the timeline region"
    # Marks and arrows in several lanes, not just the headers.
    body = collections.Counter(image.region(top + 30, band_rows[0]))
    lanes_marked = [lane for lane, colour in LANE_COLOURS.items() if body[colour] >= 10]
    assert len(lanes_marked) >= 3, f"events drawn in lanes {lanes_marked} only"


def test_a_real_runs_report_draws_its_timeline(rmtfs_hil, tmp_path):
    """The report of `rmtfs-hil run` against the real daemon, not a sample."""
    if not os.path.exists("/usr/bin/rmtfs"):
        pytest.skip("/usr/bin/rmtfs is not installed (ci/setup.sh installs it)")
    library = pathlib.Path(__file__).resolve().parents[2] / "scenarios"
    report = tmp_path / "html"
    done = subprocess.run(
        [str(rmtfs_hil), "run", str(library / "sigkill-mid-write-sector.json"), "--report", str(report), "-q"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    html = (report / "index.html").read_text(encoding="utf-8")
    assert "sigkill-mid-write-sector" in html and '<svg class="timeline"' in html
    image = screenshot_of(report)
    header_rows = _rows_with(image, LANE_COLOURS["modem"], 80)
    assert header_rows, "no lane header of the sequence diagram in the screenshot"
    top = header_rows[0]
    for lane, colour in LANE_COLOURS.items():
        assert image.row(top + 4).count(colour) >= 80, f"lane header '{lane}' missing at row {top + 4}"
    body = collections.Counter(image.region(top + 30, min(image.height, top + 800)))
    lanes_marked = [lane for lane, colour in LANE_COLOURS.items() if body[colour] >= 10]
    assert len(lanes_marked) >= 2, f"the daemon's real traffic drawn in lanes {lanes_marked} only"
