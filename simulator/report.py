"""Results on disk: netCDF, the summary table (``summary``), the scenario as run and the figure.

A result folder is written whole or not at all: everything goes to a temporary sibling folder which
is renamed into place at the end, so an interrupted write never leaves something that looks complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import xarray as xr

from .summary import annual_summary, to_markdown

RESULT_FILES = ("results.nc", "summary.csv", "summary.md", "scenario.yaml", "headline.png")


class OutputError(OSError):
    """A result folder that cannot be written; the message is one line naming the path."""


def check_writable(out: Path, overwrite: bool) -> None:
    """Fail early, before a long run, if ``out`` cannot be written or would be overwritten unasked."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; expected a folder for results")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(f"{out}: folder is not empty; pass --overwrite to replace it")
    probe = out.resolve().parent
    while not probe.exists():
        probe = probe.parent
    try:  # really try: os.access says yes to root even where nothing can be created (/proc)
        tempfile.TemporaryDirectory(prefix=".caresim-probe-", dir=probe).cleanup()
    except OSError as exc:
        raise OutputError(f"{out}: cannot create results under {probe} ({exc.strerror or exc})") from None


def write_results(ds: xr.Dataset, out: str | Path, overwrite: bool = False, figure: bool = True) -> Path:
    """Write the result folder atomically: results.nc, summary.csv/.md, scenario.yaml, headline.png."""

    def fill(tmp: Path) -> None:
        ds.to_netcdf(tmp / "results.nc", engine="h5netcdf")
        table = annual_summary(ds)
        table.to_csv(tmp / "summary.csv", float_format="%.6g")
        (tmp / "summary.md").write_text(to_markdown(table, ds), encoding="utf-8")
        (tmp / "scenario.yaml").write_text(ds.attrs.get("scenario_yaml", ""), encoding="utf-8")
        if figure:
            from .plots import headline_figure, save

            save(headline_figure(ds), tmp / "headline.png")

    return write_folder(out, fill, overwrite)


def write_folder(out: str | Path, fill, overwrite: bool = False) -> Path:
    """A folder written whole or not at all: ``fill(tmp)`` writes into a temporary sibling, renamed into place."""
    out = Path(out)
    check_writable(out, overwrite)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; results are ordinary files
    except OSError as exc:
        raise OutputError(f"{out}: cannot create results folder ({exc.strerror or exc})") from None
    try:
        fill(tmp)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for stale in parent.glob(f".{out.name}.partial-*"):  # left by a writer that was killed before its rename
        shutil.rmtree(stale, ignore_errors=True)
    for stale in parent.glob(f".{out.name}.old-*"):
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
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None


def write_text_atomic(path: Path, text: str) -> Path:
    """Write a text file whole or not at all: a temporary file in the same folder, renamed into place."""
    path = Path(path)
    check_writable_file(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv_atomic(table: pd.DataFrame, path: Path) -> Path:
    """A table as CSV, written atomically."""
    return write_text_atomic(path, table.to_csv(float_format="%.6g"))
