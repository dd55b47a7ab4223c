"""A real headless Chromium for tests: find it, dump a page's DOM, screenshot it, tell a blank PNG.

Tests that need the browser call :func:`require_chromium` first: it skips the test when Chromium is
missing, unless ``CI`` is set, where a missing browser fails the test (``.ci/run`` installs it).
Chromium can hang, so every run has a timeout and is killed with its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

__all__ = [
    "BrowserError",
    "chromium_path",
    "dump_dom",
    "png_is_blank",
    "png_pixels",
    "require_chromium",
    "screenshot",
]

TIMEOUT_S = 60.0
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_INSTALL_HINT = (
    "install it with `apt-get install -y --no-install-recommends chromium fonts-thai-tlwg` "
    "or point CHROMIUM at the binary"
)
_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--hide-scrollbars",
    "--mute-audio",
)


class BrowserError(RuntimeError):
    """Chromium failed, timed out, or did not produce what was asked."""


def chromium_path() -> str | None:
    """The Chromium binary: ``$CHROMIUM``, else the first of the usual names on PATH, else None."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The Chromium binary; skips the calling test without one, or fails it when ``CI`` is set."""
    path = chromium_path()
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and Chromium is not installed: {_INSTALL_HINT}", pytrace=False)
    pytest.skip(f"Chromium not found, the browser test is skipped: {_INSTALL_HINT}")


def _run(args: list[str], page: Path, timeout: float) -> bytes:
    """Run Chromium on ``page`` with a throw-away profile; its stdout, or BrowserError."""
    binary = chromium_path()
    if binary is None:
        raise BrowserError(f"Chromium not found: {_INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [binary, *_FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.communicate()
            raise BrowserError(f"Chromium did not finish within {timeout:g} s on {page}") from None
        finally:
            _kill_group(process.pid)  # helpers it left behind (zygote, renderer)
    if process.returncode != 0:
        tail = err.decode("utf-8", "replace")[-2000:]
        raise BrowserError(f"Chromium exited {process.returncode} on {page}:\n{tail}")
    return out


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def dump_dom(html_path: Path, *, timeout: float = TIMEOUT_S) -> str:
    """The DOM Chromium built from the page, serialized as HTML (``--dump-dom``)."""
    return _run(["--dump-dom"], html_path, timeout).decode("utf-8")


def screenshot(
    html_path: Path,
    png_path: Path,
    *,
    width: int = 1280,
    height: int = 2000,
    timeout: float = TIMEOUT_S,
) -> None:
    """A PNG of the page's first ``width`` × ``height`` CSS pixels, written to ``png_path``."""
    target = png_path.resolve()
    target.unlink(missing_ok=True)
    _run(
        [
            f"--screenshot={target}",
            f"--window-size={width},{height}",
            "--run-all-compositor-stages-before-draw",
        ],
        html_path,
        timeout,
    )
    if not target.is_file() or target.stat().st_size == 0:
        raise BrowserError(f"Chromium wrote no screenshot to {target}")


# --- PNG ----------------------------------------------------------------------------------------

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # grey, RGB, grey+alpha, RGBA


def png_pixels(path: Path) -> tuple[int, int, int, list[bytes]]:
    """Decode an 8-bit, non-interlaced, non-palette PNG: (width, height, channels, rows).

    Enough for Chromium's screenshots; anything else raises ValueError.
    """
    data = path.read_bytes()
    if not data.startswith(_SIGNATURE):
        raise ValueError(f"{path} is not a PNG")
    pos, header, compressed = len(_SIGNATURE), b"", bytearray()
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            compressed += chunk
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header[:13])
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {colour})")
    channels = _CHANNELS[colour]
    raw = zlib.decompress(bytes(compressed))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], raw[start + 1 : start + 1 + stride], previous, channels)
        rows.append(row)
        previous = row
    return width, height, channels, rows


def _unfilter(kind: int, line: bytes, up: bytes, bpp: int) -> bytes:
    if kind == 0:
        return line
    if kind == 2:
        return bytes((a + b) & 0xFF for a, b in zip(line, up, strict=True))
    out = bytearray(line)
    n = len(out)
    if kind == 1:
        for i in range(bpp, n):
            out[i] = (out[i] + out[i - bpp]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + up[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            a = out[i - bpp] if i >= bpp else 0
            b = up[i]
            c = up[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out[i] = (out[i] + predictor) & 0xFF
    else:
        raise ValueError(f"unknown PNG filter type {kind}")
    return bytes(out)


def png_is_blank(path: Path, *, min_colours: int = 16) -> bool:
    """True when the image has fewer than ``min_colours`` distinct pixel colours.

    A blank or single-colour page has one or two; rendered text and charts have hundreds.
    """
    _, _, channels, rows = png_pixels(path)
    colours: set[bytes] = set()
    for row in rows:
        colours.update(row[i : i + channels] for i in range(0, len(row), channels))
        if len(colours) >= min_colours:
            return False
    return True
