"""A small reader of R's serialisation format (XDR, versions 2 and 3) and of R lazy-load
databases (``*.rdb`` / ``*.rdx``), enough to read data frames without an R installation.

An installed R package keeps its data sets in ``data/Rdata.rdb``; ``data/Rdata.rdx`` is the
index: a gzip-compressed serialised list whose ``variables`` element maps each object name to
its ``(offset, length)`` in the ``.rdb`` file, and whose ``compressed`` element says how each
record is compressed (1/TRUE: zlib; 2: bzip2; 3: xz). A record is a 4-byte big-endian length
of the uncompressed data, for types 2 and 3 a one-byte type code (``Z``, ``2``, ``X``, ``0``),
then the compressed serialisation of the object.

Supported: NULL, logical, integer, double, character, generic vectors (lists and data frames),
factors, attributes, pairlists, symbols, references, environments and the compact integer /
real sequences of ALTREP. Anything else (closures, byte code, external pointers) raises an
:class:`~grapekg.errors.InputError`: a data set never needs it. Nothing is evaluated.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grapekg.errors import InputError

NA_INT = -(2**31)
# SEXP type codes (R Internals, "Serialization Formats")
NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 0, 1, 2, 3, 4, 5, 6
CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP = 9, 10, 13, 14, 15, 16
DOTSXP, VECSXP, EXPRSXP, RAWSXP, S4SXP = 17, 19, 20, 24, 25
REFSXP, NILVALUE, GLOBALENV, UNBOUNDVALUE, MISSINGARG, BASENAMESPACE = 255, 254, 253, 252, 251, 250
NAMESPACESXP, PACKAGESXP, PERSISTSXP, EMPTYENV, BASEENV = 249, 248, 247, 242, 241
ATTRLANGSXP, ATTRLISTSXP, ALTREPSXP = 240, 239, 238


@dataclass
class RObject:
    """An R value: ``type`` (SEXP code), ``value`` (a list, a numpy array, a string, ...)
    and its attributes (``names``, ``class``, ``levels``, ``row.names``...)."""

    type: int
    value: Any
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        c = self.attributes.get("class")
        return list(c.value) if isinstance(c, RObject) else []


@dataclass
class RSymbol:
    name: str


class _Reader:
    def __init__(self, data: bytes, origin: str) -> None:
        self.data = data
        self.pos = 0
        self.origin = origin
        self.refs: list[Any] = []

    def fail(self, msg: str) -> InputError:
        return InputError(self.origin, f"R serialisation: {msg} (byte {self.pos})")

    def int(self) -> int:
        if self.pos + 4 > len(self.data):
            raise self.fail("truncated data")
        (v,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return int(v)

    def length(self) -> int:
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        if n < 0:
            raise self.fail(f"negative length {n}")
        return n

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise self.fail("truncated data")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def array(self, dtype: str, n: int, size: int) -> np.ndarray:
        return np.frombuffer(self.raw(n * size), dtype=dtype).astype(dtype[1:])

    def header(self) -> None:
        fmt = self.raw(2)
        if fmt != b"X\n":
            raise self.fail(f"only the XDR format is read, found {fmt!r}")
        version = self.int()
        self.int()  # writer's R version
        self.int()  # minimal reader version
        if version == 3:
            self.raw(self.int())  # native encoding
        elif version != 2:
            raise self.fail(f"unsupported serialisation version {version}")

    def item(self) -> Any:
        flags = self.int()
        t = flags & 0xFF
        has_attr = bool(flags & (1 << 9))
        has_tag = bool(flags & (1 << 10))
        if t == NILVALUE:
            return None
        if t in (EMPTYENV, BASEENV, GLOBALENV, UNBOUNDVALUE, MISSINGARG, BASENAMESPACE):
            return RObject(t, None)
        if t == REFSXP:
            idx = flags >> 8 or self.int()
            if not 0 < idx <= len(self.refs):
                raise self.fail(f"reference {idx} to an unknown object")
            return self.refs[idx - 1]
        if t in (PERSISTSXP, NAMESPACESXP, PACKAGESXP):
            self.int()  # 0
            names = self.strings(self.int())
            obj = RObject(t, names)
            self.refs.append(obj)
            return obj
        if t == SYMSXP:
            ch = self.item()
            sym = RSymbol(ch if isinstance(ch, str) else "")
            self.refs.append(sym)
            return sym
        if t == ENVSXP:
            self.int()  # locked
            env = RObject(ENVSXP, {})
            self.refs.append(env)
            env.value["enclos"] = self.item()
            env.value["frame"] = self.item()
            env.value["hashtab"] = self.item()
            _set_attributes(env, self.item())
            return env
        if t in (LISTSXP, LANGSXP, CLOSXP, PROMSXP, DOTSXP, ATTRLANGSXP, ATTRLISTSXP):
            return self.pairlist(t, has_attr, has_tag)
        if t == ALTREPSXP:
            return self.altrep()
        if t == CHARSXP:
            n = self.int()
            if n == -1:
                return None
            return self.raw(n).decode("utf-8", errors="replace")
        obj = self.vector(t)
        if has_attr:
            _set_attributes(obj, self.item())
        return obj

    def strings(self, n: int) -> list[str | None]:
        out: list[str | None] = []
        for _ in range(n):
            flags = self.int()
            if flags & 0xFF != CHARSXP:
                raise self.fail("a character vector holds a non-string")
            k = self.int()
            out.append(None if k == -1 else self.raw(k).decode("utf-8", errors="replace"))
        return out

    def vector(self, t: int) -> RObject:
        if t == NILSXP:
            return RObject(t, None)
        n = self.length()
        if t in (LGLSXP, INTSXP):
            return RObject(t, self.array(">i4", n, 4))
        if t == REALSXP:
            return RObject(t, self.array(">f8", n, 8))
        if t == CPLXSXP:
            v = self.array(">f8", 2 * n, 8)
            return RObject(t, v[0::2] + 1j * v[1::2])
        if t == STRSXP:
            return RObject(t, self.strings(n))
        if t in (VECSXP, EXPRSXP):
            return RObject(t, [self.item() for _ in range(n)])
        if t == RAWSXP:
            return RObject(t, self.raw(n))
        raise self.fail(f"unsupported R object type {t}")

    def pairlist(self, t: int, has_attr: bool, has_tag: bool) -> RObject:
        attrs = self.item() if has_attr else None
        tag = self.item() if has_tag else None
        car = self.item()
        cdr = self.item()
        items: list[tuple[str | None, Any]] = [
            (tag.name if isinstance(tag, RSymbol) else None, car)
        ]
        if isinstance(cdr, RObject) and cdr.type == t and isinstance(cdr.value, list):
            items += cdr.value
        obj = RObject(t, items)
        if attrs is not None:
            _set_attributes(obj, attrs)
        return obj

    def altrep(self) -> RObject:
        info = self.item()
        state = self.item()
        attrs = self.item()
        cls = ""
        if isinstance(info, RObject) and info.value and isinstance(info.value[0][1], RSymbol):
            cls = info.value[0][1].name
        if cls in ("compact_intseq", "compact_realseq") and isinstance(state, RObject):
            n, start, step = (float(x) for x in state.value[:3])
            seq = start + step * np.arange(int(n))
            obj = RObject(INTSXP if cls == "compact_intseq" else REALSXP, seq)
            if cls == "compact_intseq":
                obj.value = seq.astype("i4")
        elif cls in ("wrap_integer", "wrap_real", "wrap_string", "wrap_logical") and isinstance(
            state, RObject
        ):
            obj = state.value[0]
        elif cls == "deferred_string" and isinstance(state, RObject):
            src = state.value[0][1] if state.type == LISTSXP else state
            obj = RObject(STRSXP, [_fmt_number(x) for x in np.asarray(src.value)])
        else:
            raise self.fail(f"unsupported ALTREP class {cls!r}")
        if attrs is not None:
            _set_attributes(obj, attrs)
        return obj


def _fmt_number(x: Any) -> str:
    f = float(x)
    return str(int(f)) if f.is_integer() else repr(f)


def _set_attributes(obj: Any, attrs: Any) -> None:
    if isinstance(obj, RObject) and isinstance(attrs, RObject) and attrs.type == LISTSXP:
        obj.attributes.update({k: v for k, v in attrs.value if k is not None})


def unserialize(data: bytes, origin: str = "R data") -> Any:
    """The object of one XDR serialisation (``serialize()`` / ``saveRDS`` without gzip)."""
    r = _Reader(data, origin)
    r.header()
    return r.item()


def _decompress(blob: bytes, kind: int, origin: str) -> bytes:
    if len(blob) < 5:
        raise InputError(origin, "lazy-load record is too short")
    (n,) = struct.unpack_from(">I", blob, 0)
    try:
        if kind in (2, 3):
            code, body = blob[4:5], blob[5:]
            if code == b"2":
                out = bz2.decompress(body)
            elif code == b"X":
                out = lzma.decompress(body)
            elif code == b"Z":
                out = zlib.decompress(body)
            elif code == b"0":
                out = body
            else:
                raise InputError(origin, f"unknown lazy-load compression {code!r}")
        else:
            out = zlib.decompress(blob[4:])
    except (OSError, zlib.error, lzma.LZMAError, ValueError) as exc:
        raise InputError(origin, f"corrupt lazy-load record ({exc})") from None
    if len(out) != n:
        raise InputError(origin, f"lazy-load record is {len(out)} bytes, its header says {n}")
    return out


def _index(rdx: Path) -> tuple[dict[str, tuple[int, int]], int]:
    raw = rdx.read_bytes()
    try:
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else zlib.decompress(raw[4:])
    except (OSError, zlib.error, EOFError) as exc:
        raise InputError(rdx, f"not a lazy-load index ({exc})") from None
    top = unserialize(data, str(rdx))
    if not isinstance(top, RObject) or top.type != VECSXP:
        raise InputError(rdx, "not a lazy-load index (expected a list)")
    names = top.attributes.get("names")
    parts = dict(zip(names.value if names else [], top.value, strict=False))
    variables = parts.get("variables")
    if not isinstance(variables, RObject) or "names" not in variables.attributes:
        raise InputError(rdx, "lazy-load index has no 'variables'")
    out = {}
    for name, pos in zip(variables.attributes["names"].value, variables.value, strict=True):
        off, length = (int(x) for x in np.asarray(pos.value)[:2])
        out[str(name)] = (off, length)
    comp = parts.get("compressed")
    kind = int(np.asarray(comp.value)[0]) if isinstance(comp, RObject) else 1
    return out, kind


def lazyload_names(rdx: Path) -> list[str]:
    """Names of the objects of a lazy-load database."""
    return sorted(_index(Path(rdx))[0])


def lazyload(rdb: Path, rdx: Path, name: str) -> Any:
    """Object ``name`` of the lazy-load database ``rdb`` / ``rdx``."""
    rdb, rdx = Path(rdb), Path(rdx)
    for p in (rdb, rdx):
        if not p.is_file():
            raise InputError(p, "file not found")
    index, kind = _index(rdx)
    if name not in index:
        raise InputError(rdx, f"has no object {name!r} (it has {', '.join(sorted(index))})")
    off, length = index[name]
    with open(rdb, "rb") as fh:
        fh.seek(off)
        blob = fh.read(length)
    if len(blob) != length:
        raise InputError(rdb, f"truncated: object {name!r} needs bytes {off}..{off + length}")
    return unserialize(_decompress(blob, kind, str(rdb)), f"{rdb}:{name}")


def data_frame(obj: Any, origin: str) -> dict[str, list[Any] | np.ndarray]:
    """The columns of an R data frame (factors as their level strings)."""
    if not isinstance(obj, RObject) or obj.type != VECSXP or "data.frame" not in obj.classes:
        raise InputError(origin, "the R object is not a data.frame")
    names = obj.attributes["names"].value
    out: dict[str, list[Any] | np.ndarray] = {}
    for name, col in zip(names, obj.value, strict=True):
        if not isinstance(col, RObject):
            raise InputError(origin, f"column {name!r} is not a vector")
        if "factor" in col.classes:
            levels = col.attributes["levels"].value
            out[name] = [None if c == NA_INT else levels[c - 1] for c in col.value]
        else:
            out[name] = col.value
    return out
