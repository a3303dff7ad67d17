"""The shipped data tables are rebuilt from the raw sources kept in the repository (data/raw/), byte for byte."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.data import build

ROOT = Path(__file__).resolve().parents[1]
BUILT = ("mortality_hmd_ew_2016_2018.csv", "female_share_by_age.csv", "councils_mid2019.csv")


def test_raw_sources_are_in_the_repository():
    """The build's default folder is the repository's data/raw/, and it holds every file the build reads."""
    assert build.RAW.resolve() == (ROOT / "data" / "raw").resolve()
    for name in build.SOURCES:
        assert (build.RAW / name).is_file(), name
    source = Path(build.__file__).read_text(encoding="utf-8")
    assert "/".join(("..", "shared")) not in source and "reference" not in source  # no folder users lack


def test_rebuild_reproduces_the_shipped_csvs_byte_for_byte(tmp_path, capsys):
    assert build.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(BUILT)
    for name in BUILT:
        assert filecmp.cmp(tmp_path / name, build.HERE / name, shallow=False), f"{name} differs from the shipped file"
    assert capsys.readouterr().out.count("wrote ") == len(BUILT)


def test_a_changed_source_changes_the_output(tmp_path):
    """The comparison above can fail: a source with one rate changed builds a different mortality table."""
    raw = tmp_path / "raw"
    (raw / "councils").mkdir(parents=True)
    for name in build.SOURCES:
        (raw / name).write_bytes((build.RAW / name).read_bytes())
    hmd = raw / "hmd_england_wales_mx_qx_2016_2018.csv"
    lines = hmd.read_text().splitlines()
    sex, age, mx, qx = lines[1].split(",")
    lines[1] = ",".join([sex, age, f"{float(mx) * 2:.6f}", qx])
    hmd.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    assert build.main(["--raw", str(raw), "--out", str(out)]) == 0
    assert not filecmp.cmp(out / BUILT[0], build.HERE / BUILT[0], shallow=False)
    assert not filecmp.cmp(out / BUILT[1], build.HERE / BUILT[1], shallow=False)


@pytest.mark.parametrize("args,expected", [
    (["--raw", "{tmp}/nowhere"], "missing hmd_england_wales_mx_qx_2016_2018.csv"),
    (["--out", "{tmp}/nowhere"], "--out {tmp}/nowhere: not a folder"),
])
def test_bad_folders_get_one_line_and_exit_2(tmp_path, args, expected):
    cmd = [sys.executable, "-m", "simulator.data.build"] + [a.format(tmp=tmp_path) for a in args]
    # from the checkout's root, as a maintainer runs it: `-m` then finds this checkout's simulator and data/raw/
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert expected.format(tmp=tmp_path) in result.stderr
    assert result.stdout == ""
