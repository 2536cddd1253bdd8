"""Offline data files carried by Debian packages (fetched with ``apt-get download``).

Like the PyPI wheels of :mod:`grapekg.kg.defaults`, a Debian package is only a carrier: it is
downloaded (never installed), checked against its pinned SHA-256, and the one data file needed
is extracted with ``dpkg-deb`` into the cache folder. No R is needed to read the SQLite files of
Bioconductor's annotation packages. On a machine without apt the file is simply absent and the
sources that would use it say so (a user gives the online file instead).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grapekg.errors import InputError, ServerError
from grapekg.kg.defaults import sha256_file
from grapekg.settings import Settings


@dataclass(frozen=True)
class DebFile:
    role: str
    package: str
    version: str
    sha256: str
    member: str  # path inside the package's data
    licence: str
    released: str
    #: other members extracted beside ``member`` (e.g. the index of a lazy-load database)
    companions: tuple[str, ...] = ()


FILES: dict[str, DebFile] = {
    f.role: f
    for f in [
        DebFile(
            "synonyms.ncbi",
            "r-bioc-org.hs.eg.db",
            "3.16.0-1",
            "0f61810d35b858915b1a9787d8dcab08b7e164c14c20a9e1d86eb9837308c2c2",
            "usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite",
            "Artistic-2.0 (package); NCBI Gene data: public domain",
            "2022-09-12",
        ),
        # PROGENy's model: the R lazy-load database of the package's data (read in Python by
        # grapekg.kg.adapters._rdata); the .rdx index is extracted beside it
        DebFile(
            "progeny.rdb",
            "r-bioc-progeny",
            "1.20.0+ds-1",
            "3890420f713bf43305f6c7aba18a83f831e53a19a52e233e2f2fa6b589b1df1c",
            "usr/lib/R/site-library/progeny/data/Rdata.rdb",
            "Apache-2.0",
            "2022-11-20",
            companions=("usr/lib/R/site-library/progeny/data/Rdata.rdx",),
        ),
    ]
}


def local_path(settings: Settings, role: str) -> Path:
    df = FILES[role]
    return Path(settings.cache_dir) / "data" / f"{df.package}-{df.version}" / Path(df.member).name


def companion_path(settings: Settings, role: str, index: int = 0) -> Path:
    """Where the ``index``-th companion member of ``role`` is extracted."""
    df = FILES[role]
    return local_path(settings, role).parent / Path(df.companions[index]).name


def available(settings: Settings, role: str) -> Path | None:
    """The extracted file if it is already in the cache, else None (no download)."""
    p = local_path(settings, role)
    return p if p.exists() else None


def fetch(settings: Settings, role: str) -> Path:
    """Download the package once (``apt-get download``), check it, extract the member."""
    df = FILES[role]
    dest = local_path(settings, role)
    if dest.exists() and all(
        companion_path(settings, role, i).exists() for i in range(len(df.companions))
    ):
        return dest
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise ServerError(
            f"{df.package}: apt-get/dpkg-deb are not on this machine; give the "
            f"online file instead (see README, gene synonyms)"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        cmd = ["apt-get", "download", "-q", f"{df.package}={df.version}"]
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, check=False)
        debs = list(Path(tmp).glob("*.deb"))
        if proc.returncode != 0 or not debs:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no package"]
            raise ServerError(
                f"apt-get could not download {df.package}={df.version}: {tail[0]} "
                f"(run 'apt-get update' first)"
            )
        got = sha256_file(debs[0])
        if got != df.sha256:
            raise InputError(debs[0].name, f"SHA-256 {got} does not match the pinned {df.sha256}")
        out = Path(tmp) / "x"
        proc = subprocess.run(
            ["dpkg-deb", "-x", str(debs[0]), str(out)], capture_output=True, text=True, check=False
        )
        for i, name in enumerate(df.companions):
            comp = out / name
            if proc.returncode != 0 or not comp.is_file():
                raise InputError(debs[0].name, f"has no member {name}")
            target = companion_path(settings, role, i)
            shutil.move(str(comp), target.with_suffix(target.suffix + ".part"))
            target.with_suffix(target.suffix + ".part").rename(target)
        member = out / df.member
        if proc.returncode != 0 or not member.is_file():
            raise InputError(debs[0].name, f"has no member {df.member}")
        tmp_dest = dest.with_suffix(dest.suffix + ".part")
        shutil.move(str(member), tmp_dest)
        tmp_dest.rename(dest)
    return dest
