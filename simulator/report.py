"""Results on disk: netCDF, the summary table (``summary``), the scenario as run and the figure.

A result folder is written whole or not at all: everything goes to a temporary sibling folder which
is renamed into place at the end, so an interrupted write never leaves something that looks complete.
Every folder caresim writes holds a marker file, ``.caresim`` (one line of JSON: what wrote it, the
version, when); ``--overwrite`` replaces only folders with the marker, so nothing a user made is deleted.
Every file is created with the user's normal permissions (``0o666`` less the umask), never private.
"""

from __future__ import annotations

import datetime as _dt
import glob
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import xarray as xr

from . import __version__
from .summary import annual_summary, to_markdown

RESULT_FILES = ("results.nc", "summary.csv", "summary.md", "scenario.yaml", "headline.png")
#: the file inside every folder caresim writes, which tells it that the folder is its own to replace
MARKER = ".caresim"


class OutputError(OSError):
    """A result folder that cannot be written; the message is one line naming the path."""


def is_caresim_folder(folder: Path) -> bool:
    """Whether ``folder`` holds caresim's marker file, so caresim wrote it and may replace it."""
    return (Path(folder) / MARKER).is_file()


def write_marker(folder: Path, kind: str) -> Path:
    """Mark ``folder`` as written by caresim: ``.caresim``, one line of JSON (what wrote it, version, UTC time)."""
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    line = json.dumps({"written_by": f"caresim {kind}", "version": __version__, "time": stamp})
    return write_text_atomic(Path(folder) / MARKER, line + "\n")


def check_writable(out: Path, overwrite: bool, resume: bool = False) -> None:
    """Fail early, before a long run, if ``out`` cannot be written or would be overwritten unasked: a non-empty
    folder is replaced only with ``overwrite`` and only if caresim wrote it (its marker); ``resume`` lets the
    caller continue a non-empty folder it checks itself."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; expected a folder for results")
    if out.is_dir() and any(out.iterdir()) and not resume:
        if not overwrite:
            raise OutputError(f"{out}: folder is not empty; pass --overwrite to replace it")
        if not is_caresim_folder(out):
            raise OutputError(f"{out}: folder is not empty and caresim did not write it (no {MARKER} file inside); "
                              "caresim replaces only its own results: choose another --out")
    probe = out.resolve().parent
    while not probe.exists():
        probe = probe.parent
    try:  # really try: os.access says yes to root even where nothing can be created (/proc)
        new_folder(probe, ".caresim-probe-").rmdir()
    except OSError as exc:
        raise OutputError(f"{out}: cannot create results under {probe} ({exc.strerror or exc})") from None


def write_results(ds: xr.Dataset, out: str | Path, overwrite: bool = False, figure: bool = True) -> Path:
    """Write the result folder ``out`` itself, atomically: results.nc, summary.csv/.md, scenario.yaml,
    headline.png and the marker."""

    def fill(tmp: Path) -> None:
        ds.to_netcdf(tmp / "results.nc", engine="h5netcdf")
        table = annual_summary(ds)
        table.to_csv(tmp / "summary.csv", float_format="%.6g")
        (tmp / "summary.md").write_text(to_markdown(table, ds), encoding="utf-8")
        (tmp / "scenario.yaml").write_text(ds.attrs.get("scenario_yaml", ""), encoding="utf-8")
        if figure:
            from .plots import headline_figure, save

            save(headline_figure(ds), tmp / "headline.png")

    return write_folder(out, fill, overwrite, kind="run")


def write_folder(out: str | Path, fill, overwrite: bool = False, kind: str | None = None) -> Path:
    """A folder written whole or not at all: ``fill(tmp)`` writes into a temporary sibling, which gets the marker
    (``kind``: what wrote it, by default the module of ``fill``) and is renamed into place."""
    out = Path(out)
    check_writable(out, overwrite)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = new_folder(parent, f".{out.name}.partial-")
    except OSError as exc:
        raise OutputError(f"{out}: cannot create results folder ({exc.strerror or exc})") from None
    try:
        fill(tmp)
        write_marker(tmp, kind or getattr(fill, "__module__", "").rpartition(".")[2] or "results")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for stale in parent.glob(f"{glob.escape(f'.{out.name}.')}partial-*"):  # a writer killed before its rename
        shutil.rmtree(stale, ignore_errors=True)
    for stale in parent.glob(f"{glob.escape(f'.{out.name}.')}old-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return out


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished temporary folder to ``out``, replacing an old one only at the last moment."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def check_writable_file(path: Path) -> None:
    """Fail early, before a long computation, if a single output file cannot be written in its folder."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; expected a file name")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise OutputError(f"{path}: folder {folder} does not exist")
    try:
        new_file(folder, ".caresim-probe-").unlink()
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None


def _umask() -> int:
    """The process's umask (read by setting it and setting it back: Python has no other way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file(folder: Path, prefix: str, suffix: str = "") -> Path:
    """A new empty file in ``folder`` (``tempfile.mkstemp``), with normal permissions (0o666 less the umask),
    where mkstemp makes it private."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    finally:
        os.close(fd)
    return Path(name)


def new_folder(folder: Path, prefix: str) -> Path:
    """A new empty folder in ``folder`` (``tempfile.mkdtemp``), with normal permissions (0o777 less the umask)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
    path.chmod(0o777 & ~_umask())
    return path


@contextmanager
def atomic_file(path: Path):
    """Yield a new empty temporary file beside ``path`` (``.<name>.<random>.partial``, normal permissions) to write
    by name; on success it is renamed to ``path``, whole, and on any failure removed."""
    path = Path(path)
    prefix = path.name if path.name.startswith(".") else f".{path.name}"
    tmp = new_file(path.parent, f"{prefix}.", ".partial")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> Path:
    """Write a text file whole or not at all, with normal permissions: a temporary file beside it, renamed."""
    path = Path(path)
    check_writable_file(path)
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_csv_atomic(table: pd.DataFrame, path: Path) -> Path:
    """A table as CSV, written atomically."""
    return write_text_atomic(path, table.to_csv(float_format="%.6g"))
