"""Exact, fast evaluation of Python literals (the 2014 Amazon dump lines) without ``eval``.

A numba kernel rewrites each literal into JSON byte by byte, and orjson parses the JSON. The
kernel only accepts the subset of Python literal syntax whose JSON rewrite is guaranteed to
evaluate to the very same value (strings, bounded-precision numbers without exponent, lists,
dicts, True/False/None, shallow nesting); anything else (tuples, sets, big ints, exponents,
``\\N{...}``, lone surrogates, implicit string concatenation, deep nesting, ...) is refused and
the line goes to ``ast.literal_eval``, which is safe and the reference for exactness. orjson
itself refuses JSON that Python would not have produced (trailing commas, adjacent strings).
"""

from __future__ import annotations

import ast
import contextlib
import gc
import json
import re

import numba
import numpy as np
import orjson

# Python refuses more than 200 nested brackets, orjson accepts 1024: refuse early.
MAX_DEPTH = 64
# Numbers of at most 17 digits: such integers fit int64 (orjson turns bigger ones into floats)
# and such decimals are rounded by orjson exactly as by Python (checked on random samples).
MAX_DIGITS = 17
_BLOCK_BYTES = 1 << 20  # lines per translate call: about 1 MB, see load_translated
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).copy()
# String bytes copied as they are: not a control byte, quote or backslash.
_PLAIN = np.ones(256, np.bool_)
_PLAIN[:0x20] = False
_PLAIN[[34, 39, 92]] = False
_FALLBACK_ERRORS = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)
_AST_NODE = re.compile(r"<ast\.(\w+) object")  # in "malformed node or string ... <ast.Call ...>"


@numba.njit(cache=True, nogil=True)
def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


@numba.njit(cache=True, nogil=True)
def _read_hex(src, j, e, n):
    """Value of exactly ``n`` hex digits at ``src[j:]``, or -1 (Python rejects fewer)."""
    if j + n > e:
        return -1
    v = 0
    for k in range(j, j + n):
        h = _hexval(src[k])
        if h < 0:
            return -1
        v = v * 16 + h
    return v


@numba.njit(cache=True, nogil=True)
def _emit_codepoint(out, p, cp, hexdigits):
    """Write ``cp`` as JSON string content: ``\\u00XX`` where JSON needs an escape, else UTF-8."""
    if cp < 0x20 or cp == 0x22 or cp == 0x5C:
        out[p] = 92
        out[p + 1] = 117
        out[p + 2] = 48
        out[p + 3] = 48
        out[p + 4] = hexdigits[cp >> 4]
        out[p + 5] = hexdigits[cp & 15]
        return p + 6
    if cp < 0x80:
        out[p] = cp
        return p + 1
    if cp < 0x800:
        out[p] = 0xC0 | (cp >> 6)
        out[p + 1] = 0x80 | (cp & 63)
        return p + 2
    if cp < 0x10000:
        out[p] = 0xE0 | (cp >> 12)
        out[p + 1] = 0x80 | ((cp >> 6) & 63)
        out[p + 2] = 0x80 | (cp & 63)
        return p + 3
    out[p] = 0xF0 | (cp >> 18)
    out[p + 1] = 0x80 | ((cp >> 12) & 63)
    out[p + 2] = 0x80 | ((cp >> 6) & 63)
    out[p + 3] = 0x80 | (cp & 63)
    return p + 4


@numba.njit(cache=True, nogil=True, inline="always")  # one call per string: inlined
def _string(src, j, e, out, p, hexdigits):
    """Translate the string literal opening at ``src[j]``; return (next j, next p) or (-1, -1)."""
    q = src[j]
    j += 1
    out[p] = 34
    p += 1
    while j < e:
        c = src[j]
        while _PLAIN[c]:  # the bulk of the bytes
            out[p] = c
            p += 1
            j += 1
            if j >= e:
                return -1, -1
            c = src[j]
        if c == q:
            out[p] = 34
            return j + 1, p + 1
        if c == 92:
            if j + 1 >= e:
                return -1, -1
            d = src[j + 1]
            j += 2
            if d == 92 or d == 34:
                out[p] = 92
                out[p + 1] = d
                p += 2
            elif d == 39:
                out[p] = 39
                p += 1
            elif d == 110 or d == 116 or d == 114 or d == 98 or d == 102:  # n t r b f
                out[p] = 92
                out[p + 1] = d
                p += 2
            elif d == 97:  # \a
                p = _emit_codepoint(out, p, 7, hexdigits)
            elif d == 118:  # \v
                p = _emit_codepoint(out, p, 11, hexdigits)
            elif 48 <= d <= 55:  # up to three octal digits
                cp = d - 48
                k = 1
                while k < 3 and j < e and 48 <= src[j] <= 55:
                    cp = cp * 8 + src[j] - 48
                    j += 1
                    k += 1
                p = _emit_codepoint(out, p, cp, hexdigits)
            elif d == 120 or d == 117 or d == 85:  # \xhh \uhhhh \Uhhhhhhhh
                n = 2 if d == 120 else (4 if d == 117 else 8)
                cp = _read_hex(src, j, e, n)
                # Python keeps \ud800-style escapes as lone surrogates (never pairs them).
                if cp < 0 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                    return -1, -1
                j += n
                p = _emit_codepoint(out, p, cp, hexdigits)
            elif d == 78 or d == 10 or d == 13:  # \N{name}, line continuation
                return -1, -1
            else:  # unknown escape: Python keeps the backslash, the next byte is read as usual
                out[p] = 92
                out[p + 1] = 92
                p += 2
                j -= 1
        elif c == 34:
            out[p] = 92
            out[p + 1] = 34
            p += 2
            j += 1
        elif c < 0x20:
            if c == 10 or c == 13 or c == 0:  # end of line inside a string, or NUL
                return -1, -1
            p = _emit_codepoint(out, p, c, hexdigits)
            j += 1
        else:
            out[p] = c
            p += 1
            j += 1
    return -1, -1


@numba.njit(cache=True, nogil=True)
def _number(src, j, e, out, p):
    """Copy a JSON-compatible number at ``src[j]``; (-1, -1) for anything orjson could misread."""
    k = j
    if src[k] == 45:
        k += 1
    start = k
    while k < e and 48 <= src[k] <= 57:
        k += 1
    ndig = k - start
    if ndig == 0 or (src[start] == 48 and ndig > 1):
        return -1, -1
    if k < e and src[k] == 46:
        k += 1
        fstart = k
        while k < e and 48 <= src[k] <= 57:
            k += 1
        if k == fstart:
            return -1, -1
        ndig += k - fstart
    if ndig > MAX_DIGITS:
        return -1, -1
    # Exponents, suffixes (j, L), underscores, hex and the like all go to the fallback.
    if k < e:
        c = src[k]
        if c == 46 or c == 95 or (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122):
            return -1, -1
    for i in range(j, k):
        out[p] = src[i]
        p += 1
    return k, p


@numba.njit(cache=True, nogil=True)
def _is_word(src, j, e, word):
    """Whether the name at ``src[j:e]`` is exactly ``word`` (a name ends at a non-name byte)."""
    n = len(word)
    if j + n > e:
        return False
    for k in range(n):
        if src[j + k] != word[k]:
            return False
    if j + n == e:
        return True
    c = src[j + n]
    return not ((48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95)


@numba.njit(cache=True, nogil=True)
def _keyword(src, j, e, out, p):
    """Turn True/False/None into JSON; any other name is refused."""
    if _is_word(src, j, e, b"True"):
        word = b"true"
    elif _is_word(src, j, e, b"False"):
        word = b"false"
    elif _is_word(src, j, e, b"None"):
        word = b"null"
    else:
        return -1, -1
    for k in range(len(word)):
        out[p + k] = word[k]
    return j + len(word), p + len(word)


@numba.njit(cache=True, nogil=True)
def _line(src, j, e, out, p, hexdigits):
    """Translate one literal into JSON at ``out[p:]``; return the end of the output or -1."""
    depth = 0
    while j < e:
        c = src[j]
        if c == 39 or c == 34:
            j, p = _string(src, j, e, out, p, hexdigits)
            if j < 0:
                return -1
            continue
        if c == 32 or c == 9 or c == 10 or c == 13 or c == 44 or c == 58:  # blanks , :
            out[p] = c
            p += 1
            j += 1
        elif c == 91 or c == 123:
            depth += 1
            if depth > MAX_DEPTH:
                return -1
            out[p] = c
            p += 1
            j += 1
        elif c == 93 or c == 125:
            depth -= 1
            out[p] = c
            p += 1
            j += 1
        elif c == 45 or (48 <= c <= 57):
            j, p = _number(src, j, e, out, p)
            if j < 0:
                return -1
        elif (65 <= c <= 90) or (97 <= c <= 122) or c == 95:
            j, p = _keyword(src, j, e, out, p)
            if j < 0:
                return -1
        else:
            return -1
    return p


@numba.njit(cache=True, nogil=True)
def translate(src, starts, ends, hexdigits):
    """Rewrite the literals ``src[starts[i]:ends[i]]`` as JSON.

    Returns the output buffer, each line's output span and whether the line was translated
    (False: the line must go to ``ast.literal_eval``).
    """
    n = len(starts)
    total = 0
    for i in range(n):
        total += ends[i] - starts[i]
    out = np.empty(total + total // 4 + 64, np.uint8)
    ostart = np.zeros(n, np.int64)
    oend = np.zeros(n, np.int64)
    ok = np.zeros(n, np.bool_)
    p = 0
    for i in range(n):
        s = starts[i]
        e = ends[i]
        need = p + 6 * (e - s) + 16  # an escape is at most 6 output bytes per input byte
        if need > len(out):
            grown = np.empty(max(need, 2 * len(out)), np.uint8)
            grown[:p] = out[:p]
            out = grown
        r = _line(src, s, e, out, p, hexdigits)
        ostart[i] = p
        if r >= 0:
            ok[i] = True
            p = r
        oend[i] = p
    return out, ostart, oend, ok


@numba.njit(cache=True, nogil=True)
def split_lines(src):
    """Spans of the lines in ``src`` (newline excluded) and whether each is blank."""
    n = 0
    for c in src:
        n += c == 10
    size = len(src)
    if size > 0 and src[-1] != 10:
        n += 1
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    blank = np.empty(n, np.bool_)
    j = 0
    for i in range(n):
        starts[i] = j
        while j < size and (src[j] == 32 or 9 <= src[j] <= 13) and src[j] != 10:
            j += 1
        blank[i] = j == size or src[j] == 10
        while j < size and src[j] != 10:
            j += 1
        ends[i] = j
        j += 1
    return starts, ends, blank


def load_translated(src: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """Yield ``(values, fallbacks)`` for consecutive blocks of the line spans, about 1 MB each.

    A value is :class:`Unparsed` where the line is no literal; ``fallbacks`` tells which
    lines needed ``ast.literal_eval`` (for the parse report). Small blocks keep the JSON in
    cache for orjson and let the allocator recycle the output buffer.
    """
    first = 0
    while first < len(starts):
        last = int(np.searchsorted(starts, starts[first] + _BLOCK_BYTES, side="right"))
        last = max(last, first + 1)
        yield _load_block(src, starts[first:last], ends[first:last])
        first = last


def _load_block(src: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[list, list]:
    out, ostart, oend, ok = translate(src, starts, ends, _HEX)
    view = memoryview(out)
    raw = memoryview(src)
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    values, fallbacks = [], []
    spans = zip(
        ok.tolist(), ostart.tolist(), oend.tolist(), starts.tolist(), ends.tolist(), strict=True
    )
    for good, os_, oe, s, e in spans:
        if good:
            try:
                values.append(loads(view[os_:oe]))
                fallbacks.append(False)
                continue
            except decode_error:
                pass
        values.append(literal_fallback(bytes(raw[s:e])))
        fallbacks.append(True)
    return values, fallbacks


class Unparsed:
    """Stands for the value of a line that is no literal, saying why (for the parse report)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def why_unparsed(err: Exception) -> str:
    """A short, stable reason for a parser's exception: no object addresses, column numbers."""
    if isinstance(err, UnicodeDecodeError):
        return f"not UTF-8 (byte {err.start + 1})"
    if isinstance(err, RecursionError):
        return "nested too deeply"
    if isinstance(err, MemoryError):
        return "too large or too deeply nested to parse"
    if isinstance(err, json.JSONDecodeError):
        return f"{err.msg.removesuffix(' at')} at column {err.colno}"
    if isinstance(err, SyntaxError):
        return f"{err.msg} at column {err.offset}"
    match = _AST_NODE.search(str(err))
    return f"contains a {match[1]} expression" if match else str(err)


def literal_fallback(line: bytes):
    """``ast.literal_eval`` of a line's UTF-8 text; :class:`Unparsed` where Python refuses it.

    The syntax tree it builds first costs 80-130 times the line's size in memory (a node
    object per item, the parser's token arena), so callers bound the lines they pass.
    """
    try:
        return ast.literal_eval(line.decode("utf-8"))
    except (*_FALLBACK_ERRORS, UnicodeDecodeError) as err:
        return Unparsed(why_unparsed(err))


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic GC while building many acyclic containers.

    Left running, it would scan them again and again as they pile up; paused, they are
    scanned once (or never, when they are freed before it resumes).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_literal_lines(lines: list[bytes]) -> list[object]:
    """Evaluate each line exactly as ``ast.literal_eval`` would; None where that raises."""
    lengths = np.fromiter((len(line) for line in lines), dtype=np.int64, count=len(lines))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    src = np.frombuffer(b"".join(lines), dtype=np.uint8)
    values = []
    with gc_paused():
        for block, _ in load_translated(src, starts, ends):
            values += [None if type(v) is Unparsed else v for v in block]
    return values
