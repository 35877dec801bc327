#!/usr/bin/env python3
"""Draws the profile pictures of msim-server's demo accounts (server/src/demo.rs): 96 px PNGs, one
per account, that `--demo` stores and serves on the HTTP side (server/src/http.rs). Drawn here, not
copied: a rounded square in the account's colour with a smiling face whose hair tells the accounts
apart (Tom a short crop, Alice long hair, Bob a cap, Carol a bun). Standard library only (zlib +
struct), so they can be redrawn anywhere python3 runs:

    python3 server/pictures/draw.py      # rewrites server/pictures/demo/<name>.png

The output is deterministic for a given zlib; the committed PNGs are what the server embeds.
"""

import math
import os
import struct
import zlib

SIZE = 96
SUPERSAMPLE = 3  # samples per pixel along each axis, for anti-aliased edges

# name: (background top, background bottom, skin, hair, style)
PEOPLE = {
    "tom": ((0x6C, 0x9B, 0xE8), (0x1D, 0x45, 0x9E), (0xF2, 0xC9, 0xA0), (0x3B, 0x2A, 0x1E), "crop"),
    "alice": ((0xF2, 0x8C, 0xB8), (0xA8, 0x2E, 0x6B), (0xF6, 0xD5, 0xB8), (0xE0, 0xB0, 0x3C), "long"),
    "bob": ((0x7F, 0xD1, 0x8B), (0x1E, 0x7A, 0x3B), (0xC6, 0x8E, 0x62), (0xC0, 0x28, 0x28), "cap"),
    "carol": ((0xF5, 0xC2, 0x6B), (0xC2, 0x6A, 0x12), (0xE8, 0xB9, 0x8F), (0x5A, 0x2D, 0x82), "bun"),
}
EYE = (0x22, 0x22, 0x2E)
MOUTH = (0x8E, 0x22, 0x2E)
SHIRT = (0xFF, 0xFF, 0xFF)


def rounded_box_sdf(x, y, x0, y0, x1, y1, r):
    """Signed distance from (x, y) to a rounded rectangle (negative inside)."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = (x1 - x0) / 2 - r, (y1 - y0) / 2 - r
    qx, qy = abs(x - cx) - hx, abs(y - cy) - hy
    return math.hypot(max(qx, 0.0), max(qy, 0.0)) + min(max(qx, qy), 0.0) - r


def circle(x, y, cx, cy, r):
    return math.hypot(x - cx, y - cy) - r


def ellipse(x, y, cx, cy, rx, ry):
    """Approximate signed distance to an ellipse (good enough for coverage sampling)."""
    return (math.hypot((x - cx) / rx, (y - cy) / ry) - 1.0) * min(rx, ry)


def hair(style, x, y):
    """Signed distance to the hair shape behind (back) and over (front) the face."""
    if style == "long":
        back = rounded_box_sdf(x, y, 0.24, 0.22, 0.76, 0.80, 0.2)
        front = min(ellipse(x, y, 0.50, 0.30, 0.25, 0.14), 1.0)
        return back, front
    if style == "bun":
        back = min(circle(x, y, 0.50, 0.13, 0.11), ellipse(x, y, 0.50, 0.36, 0.25, 0.19))
        return back, ellipse(x, y, 0.50, 0.28, 0.24, 0.11)
    if style == "cap":
        crown = ellipse(x, y, 0.50, 0.30, 0.25, 0.15)
        brim = ellipse(x, y, 0.62, 0.36, 0.22, 0.04)
        cut = y - 0.36  # the cap ends at the brim
        return 1.0, min(max(crown, cut), brim)
    # crop
    return 1.0, max(ellipse(x, y, 0.50, 0.33, 0.245, 0.17), y - 0.31)


def sample(x, y, person):
    """Colour (r, g, b, a) in 0..1 at unit coordinates (x, y)."""
    top, bottom, skin, hair_col, style = PEOPLE[person]
    box = rounded_box_sdf(x, y, 0.0, 0.0, 1.0, 1.0, 0.16)
    if box > 0:
        return (0.0, 0.0, 0.0, 0.0)
    col = [(a + (b - a) * y) for a, b in zip(top, bottom)]
    back, front = hair(style, x, y)
    face = ellipse(x, y, 0.50, 0.46, 0.22, 0.25)
    shoulders = ellipse(x, y, 0.50, 1.02, 0.36, 0.26)
    if back < 0:
        col = list(hair_col)
    if shoulders < 0 and box < -0.01:
        col = list(SHIRT if person != "bob" else (0x2E, 0x4A, 0x9E))
    if face < 0:
        col = list(skin)
        eyes = min(circle(x, y, 0.42, 0.45, 0.028), circle(x, y, 0.58, 0.45, 0.028))
        if eyes < 0:
            col = list(EYE)
        # The smile: a band of a circle below the eyes, lower half only.
        smile = abs(circle(x, y, 0.50, 0.50, 0.11)) - 0.014
        if smile < 0 and y > 0.55:
            col = list(MOUTH)
    if front < 0:
        col = list(hair_col)
    return (col[0] / 255, col[1] / 255, col[2] / 255, 1.0)


def render(person):
    """RGBA rows, anti-aliased by supersampling (premultiplied while averaging)."""
    rows = []
    n = SUPERSAMPLE
    for py in range(SIZE):
        row = bytearray()
        for px in range(SIZE):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(n):
                for sx in range(n):
                    r, g, b, a = sample((px + (sx + 0.5) / n) / SIZE, (py + (sy + 0.5) / n) / SIZE, person)
                    acc[0] += r * a
                    acc[1] += g * a
                    acc[2] += b * a
                    acc[3] += a
            a = acc[3] / (n * n)
            rgb = [c / acc[3] for c in acc[:3]] if a > 0 else [0.0, 0.0, 0.0]
            row += bytes(round(v * 255) for v in (*rgb, a))
        rows.append(bytes(row))
    return rows


def png(rows):
    """A PNG file: 8-bit RGBA, no interlace, filter type 0 on every row."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo")
    os.makedirs(here, exist_ok=True)
    for person in PEOPLE:
        out = os.path.join(here, person + ".png")
        with open(out, "wb") as f:
            f.write(png(render(person)))
        print(out)


if __name__ == "__main__":
    main()
