"""caresim report: one self-contained HTML page, every figure embedded and decodable, tables as CSV.

CI has no browser (a new machine has only Python and pip), so the page is checked as a browser would load it:
parsed with the standard library's HTML parser, every image decoded from its data URI as a PNG (Pillow, which
Matplotlib needs), nothing referenced from outside the file. Where a browser is installed, headless Chromium
renders the page and a script in it counts the images that decoded.
"""

import base64
import io
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import Image

from simulator import html_report
from simulator.cli import main
from simulator.summary import annual_summary

ROOT = Path(__file__).resolve().parents[1]


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.outside, self.ids, self.tables, self.text = [], [], [], 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append((a.get("alt", ""), a.get("src", "")))
        if tag == "table":
            self.tables += 1
        if "id" in a:
            self.ids.append(a["id"])
        for key in ("src", "href"):
            value = a.get(key) or ""
            if value and not value.startswith(("data:", "#")):
                self.outside.append(value)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Reference scenarios (baseline, funding_cut, single_pot: 2 years at scale 2000) and an ensemble of two."""
    tmp = tmp_path_factory.mktemp("report")
    scenarios = [str(ROOT / "scenarios" / f"{n}.yaml") for n in ("baseline", "funding_cut", "single_pot")]
    small = ["--years", "2", "--scale", "2000", "--no-progress", "--no-figure"]
    assert main(["run", *scenarios, *small, "--out", str(tmp / "runs")]) == 0
    assert main(["run", *scenarios[:2], *small, "--replicates", "3", "--out", str(tmp / "ens")]) == 0
    (ens,) = {p.parent for p in (tmp / "ens").rglob("ensemble.nc")}
    out = tmp / "report"
    assert main(["report", str(tmp / "runs" / "baseline"), str(tmp / "runs" / "funding_cut"),
                 str(tmp / "runs" / "single_pot"), str(ens), "--out", str(out)]) == 0
    page = Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    return out, page, ens


def test_every_figure_is_embedded_and_decodes(report):
    _out, page, _ens = report
    # comparisons (runs, ensemble) + 3 runs x 7 figures + 2 ensemble scenarios x (7 figures + 3 fan charts)
    assert len(page.images) == 2 + 3 * len(html_report.FIGURES) + 2 * (len(html_report.FIGURES) + 3)
    for alt, src in page.images:
        assert src.startswith("data:image/png;base64,"), alt
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        img.load()
        assert img.format == "PNG" and img.width >= 500 and img.height >= 250, alt


def test_the_page_is_self_contained_with_tables_scenario_and_provenance(report):
    out, page, _ens = report
    assert page.outside == []  # opens offline
    text = " ".join(page.text)
    for needle in ("Headline indicators", "Scenarios against baseline", "The scenario as run", "Provenance",
                   "20190401", "caresim", "GBP at 2019/20 prices", "finance.central_grant_multiplier", "ASC-FR"):
        assert needle in text, needle
    # the two comparisons (runs, ensemble), a section per run and ensemble scenario
    assert len(set(page.ids)) == len(page.ids) == 7
    assert page.tables >= 5 * 3 + 2


def test_tables_are_written_as_csv(report):
    out, _page, _ens = report
    names = sorted(p.name for p in out.iterdir())
    assert {"report.html", "comparison.csv", "comparison_ensemble.csv"} <= set(names)
    assert {"summary_baseline.csv", "summary_funding_cut.csv", "summary_single_pot.csv"} <= set(names)
    summary = pd.read_csv(out / "summary_baseline.csv", index_col=0)
    assert "Council spend, total (GBP m)" in summary.index and list(summary.columns) == ["2019/20", "2020/21"]
    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["scenario"]) == {"funding_cut", "single_pot"}


def test_an_ensemble_is_compared_by_paired_differences_with_bands(report):
    """The ensemble's scenarios against its first: median paired difference, the bands or 'too few replicates'
    (3 replicates), what the bands mean; its headline tables are medians of the replicates, and say so."""
    out, page, ens = report
    text = " ".join(page.text)
    for needle in ("Scenarios against baseline: paired differences over 3 replicates", "difference (median)",
                   "80% band", "95% band", "too few replicates", "not parameter uncertainty",
                   "that comes from sweeps (docs/ensembles.md)", "Headline indicators (median of replicates)",
                   "the median of the replicates' values"):
        assert needle in text, needle
    table = pd.read_csv(out / "comparison_ensemble.csv")
    assert set(table["scenario"]) == {"funding_cut"} and (table["replicates"] == 3).all()
    assert table[["lower_80", "upper_95"]].isna().all().all() and table["note"].str.contains("too few").all()
    # the ensemble baseline's summary: the median of its replicates' summaries, cell by cell
    ds = xr.load_dataset(ens / "ensemble.nc", engine="h5netcdf")
    spend = [annual_summary(ds.sel(scenario="baseline", replicate=r)).at["Council spend, total (GBP m)", "2020/21"]
             for r in ds.replicate.values]
    summary = pd.read_csv(out / f"summary_baseline_ensemble_in_{html_report._anchor(ens.name)}.csv", index_col=0)
    assert summary.at["Council spend, total (GBP m)", "2020/21"] == pytest.approx(np.median(spend), rel=1e-5)


def test_report_of_a_folder_without_results_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "no results.nc or ensemble.nc" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")),
                    reason="no headless browser on this machine (CI has only Python and pip)")
def test_headless_browser_renders_every_figure(report, tmp_path):
    """Where a browser is installed: headless Chromium loads the page offline, and in the DOM it builds every
    image has decoded (naturalWidth > 0), counted by a script in the page."""
    out, page, _ens = report
    browser = next(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b))
    probe = tmp_path / "probe.html"
    text = (out / "report.html").read_text(encoding="utf-8")
    script = ("<script>window.addEventListener('load',()=>{const i=[...document.images];"
              "document.title='decoded '+i.filter(x=>x.complete&&x.naturalWidth>0).length+' of '+i.length;});</script>")
    probe.write_text(text.replace("</body>", script + "</body>"), encoding="utf-8")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                          "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    n = len(page.images)
    assert f"<title>decoded {n} of {n}</title>" in dom
