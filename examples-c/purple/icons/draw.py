#!/usr/bin/env python3
"""Draws prpl-msim's protocol icons: 16, 22 and 48 px PNGs named after what `list_icon` returns.

Pidgin 2.x shows a protocol's icon from DATADIR/pixmaps/pidgin/protocols/<size>/<name>.png, where
<name> is the prpl's `list_icon` ("myspace", examples-c/purple/buddies.c); Debian's Pidgin ships no
such file (issue 10 item 8). These icons are drawn here, not copied: a rounded square in MySpace
blue with two white figures (a user and a friend). Standard library only (zlib + struct), so the
icons can be regenerated anywhere python3 runs:

    python3 examples-c/purple/icons/draw.py     # rewrites icons/{16,22,48}/myspace.png

The output is deterministic for a given zlib; the committed PNGs are what gets installed.
"""

import math
import os
import struct
import zlib

NAME = "myspace"  # what prpl_list_icon returns; tests/purple_icons.rs checks the two agree
SIZES = (16, 22, 48)
SUPERSAMPLE = 5  # samples per pixel along each axis, for anti-aliased edges

# Colours (r, g, b) in 0..255.
BLUE_TOP = (0x4F, 0x82, 0xDD)
BLUE_BOTTOM = (0x12, 0x36, 0x8C)
BORDER = (0x0B, 0x22, 0x5E)
FRIEND = (0xB4, 0xCD, 0xF7)
USER = (0xFF, 0xFF, 0xFF)


def rounded_box_sdf(x, y, x0, y0, x1, y1, r):
    """Signed distance from (x, y) to a rounded rectangle (negative inside)."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = (x1 - x0) / 2 - r, (y1 - y0) / 2 - r
    qx, qy = abs(x - cx) - hx, abs(y - cy) - hy
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - r


def circle_sdf(x, y, cx, cy, r):
    return math.hypot(x - cx, y - cy) - r


def ellipse_sdf(x, y, cx, cy, rx, ry):
    """Approximate signed distance to an ellipse (good enough for coverage sampling)."""
    k = math.hypot((x - cx) / rx, (y - cy) / ry)
    return (k - 1.0) * min(rx, ry)


def figure_sdf(x, y, cx, top, scale):
    """A person: a round head over rounded shoulders, in unit coordinates."""
    head = circle_sdf(x, y, cx, top + 0.13 * scale, 0.13 * scale)
    body = ellipse_sdf(x, y, cx, top + 0.56 * scale, 0.25 * scale, 0.25 * scale)
    return min(head, body)


def sample(x, y, size):
    """Colour (r, g, b, a) in 0..1 at unit coordinates (x, y) of an icon `size` pixels wide."""
    px = 1.0 / size
    margin = {16: 0.0, 22: 1.0, 48: 2.0}.get(size, 0.0) * px
    radius = 0.22
    box = rounded_box_sdf(x, y, margin, margin, 1 - margin, 1 - margin, radius)
    if box > 0:
        return (0.0, 0.0, 0.0, 0.0)
    # Vertical gradient, then a one-pixel darker rim so the square stands out on light themes.
    t = (y - margin) / (1 - 2 * margin)
    col = [(a + (b - a) * t) / 255 for a, b in zip(BLUE_TOP, BLUE_BOTTOM)]
    if box > -px * 0.9:
        col = [c / 255 for c in BORDER]
    inner = box + px * 1.2  # figures stay inside the rim
    # The friend, behind and to the right, then a gap of background colour around the user.
    friend = figure_sdf(x, y, 0.665, 0.24, 0.86)
    user = figure_sdf(x, y, 0.40, 0.25, 1.0)
    gap = 0.055 if size >= 22 else 0.07
    if friend < 0 and inner < 0 and user > gap:
        col = [c / 255 for c in FRIEND]
    if user < 0 and inner < 0:
        col = [c / 255 for c in USER]
    return (col[0], col[1], col[2], 1.0)


def render(size):
    """RGBA rows of the icon, anti-aliased by supersampling (premultiplied while averaging)."""
    rows = []
    n = SUPERSAMPLE
    for py in range(size):
        row = bytearray()
        for px in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(n):
                for sx in range(n):
                    x = (px + (sx + 0.5) / n) / size
                    y = (py + (sy + 0.5) / n) / size
                    r, g, b, a = sample(x, y, size)
                    acc[0] += r * a
                    acc[1] += g * a
                    acc[2] += b * a
                    acc[3] += a
            a = acc[3] / (n * n)
            if a > 0:
                rgb = [c / acc[3] for c in acc[:3]]
            else:
                rgb = [0.0, 0.0, 0.0]
            row += bytes(round(v * 255) for v in (*rgb, a))
        rows.append(bytes(row))
    return rows


def png(size, rows):
    """A PNG file: 8-bit RGBA, no interlace, filter type 0 on every row."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for size in SIZES:
        out = os.path.join(here, str(size), NAME + ".png")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(png(size, render(size)))
        print(out)


if __name__ == "__main__":
    main()
