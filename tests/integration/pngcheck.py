# -*- coding: utf-8 -*-
"""A tiny PNG decoder (standard library only: zlib) for the browser test: 8-bit RGB or RGBA, not interlaced, as
Chromium writes its screenshots; and the pixel statistics that tell a rendered page from a blank one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode(data):
    """``(width, height, channels, rows)``: rows are bytearrays of ``width * channels`` bytes."""
    if data[:8] != SIGNATURE:
        raise ValueError("not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, color, dummy, dummy, interlace = header
    if depth != 8 or color not in (2, 6) or interlace:
        raise ValueError("unsupported PNG: depth {0}, color type {1}, interlace {2}".format(depth, color, interlace))
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(channels, stride):
                row[i] = (row[i] + row[i - channels]) & 0xFF
        elif kind == 2:
            row = bytearray((a + b) & 0xFF for a, b in zip(row, previous))
        elif kind == 3:
            for i in range(stride):
                left = row[i - channels] if i >= channels else 0
                row[i] = (row[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = row[i - channels] if i >= channels else 0
                upleft = previous[i - channels] if i >= channels else 0
                row[i] = (row[i] + _paeth(left, previous[i], upleft)) & 0xFF
        rows.append(row)
        previous = row
    return width, height, channels, rows


def stats(data, step=4):
    """``(distinct colours, variance of the grey level)`` over every ``step``-th pixel of every ``step``-th row."""
    width, height, channels, rows = decode(data)
    greys, colours = [], set()
    for row in rows[::step]:
        for x in range(0, width, step):
            r, g, b = row[x * channels:x * channels + 3]
            colours.add((r, g, b))
            greys.append((r * 299 + g * 587 + b * 114) / 1000.0)
    mean = sum(greys) / len(greys)
    return len(colours), sum((v - mean) ** 2 for v in greys) / len(greys)
