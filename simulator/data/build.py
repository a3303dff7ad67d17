"""Rebuild the shipped data tables from the raw sources kept in the repository (maintainer tool).

From a clone of the repository::

    python -m simulator.data.build                  # reads data/raw/, rewrites simulator/data/*.csv
    python -m simulator.data.build --out DIR        # writes the CSVs to DIR instead (to compare)
    python -m simulator.data.build --raw OTHER_DIR  # reads the sources from another folder

``data/raw/README.md`` says what each source is. The package never reads ``data/raw/`` at run time (it is
not installed); it reads the CSVs this writes next to this file. Each CSV opens with ``#`` lines naming its
source. Rebuilding reproduces the shipped CSVs byte for byte (``tests/test_data_build.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.data import SEX_RATIO_AT_BIRTH

HERE = Path(__file__).parent
#: the raw sources in a clone of the repository (top-level data/raw/)
RAW = HERE.parent.parent / "data" / "raw"
#: every raw file the build reads, relative to the raw folder
SOURCES = ("hmd_england_wales_mx_qx_2016_2018.csv", "councils/population_by_council_age.csv",
           "councils/council_finance.csv")


def _write(df: pd.DataFrame, name: str, header: list[str], folder: Path) -> None:
    path = folder / name
    with path.open("w", newline="") as fh:
        for line in header:
            fh.write(f"# {line}\n")
        df.to_csv(fh, index=False, lineterminator="\n")
    print(f"wrote {path} ({len(df)} rows)")


def build_mortality(ref: Path, folder: Path) -> pd.DataFrame:
    """HMD E&W central death rates mx by sex and age 0..110 (110 = 110+)."""
    m = pd.read_csv(ref / "hmd_england_wales_mx_qx_2016_2018.csv")
    m["age"] = m["age"].astype(str).str.rstrip("+").astype(int)
    out = m.pivot(index="age", columns="sex", values="mx_2016_2018_mean").reset_index()
    out = out[["age", "male", "female"]].rename(columns={"male": "mx_male", "female": "mx_female"})
    _write(out, "mortality_hmd_ew_2016_2018.csv", [
        "Central death rate mx (deaths per person-year) by single year of age, mean of 2016-2018.",
        "Source: Human Mortality Database, England & Wales civilian population, Mx_1x1 (last modified 10 Jul 2020).",
        "Status: V (official data file). Age 110 means 110 and over. England & Wales, not England alone; pre-COVID.",
    ], folder)
    return out


def build_female_share(mort: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """Female share by age in a stationary population under the HMD life table (derived)."""
    ages = mort["age"].to_numpy()
    lx = {}
    for sex in ("male", "female"):
        mx = mort[f"mx_{sex}"].to_numpy()
        lx[sex] = np.concatenate([[1.0], np.exp(-np.cumsum(mx))[:-1]])
    male = SEX_RATIO_AT_BIRTH * lx["male"]
    share = lx["female"] / (male + lx["female"])
    out = pd.DataFrame({"age": ages, "female_share": np.round(share, 5)})
    _write(out, "female_share_by_age.csv", [
        "Share of the population that is female, by single year of age 0..110.",
        "Status: D (derived). The ONS single-year tables shipped are persons only, so the sex split is the",
        "stationary-population share implied by the HMD E&W 2016-18 life table with 1.05 males per female at birth.",
        "Check against mid-2019 England ages: 0.61 female at 85+ (0.62-0.64 usually quoted, U) and 0.497 of all",
        "ages (Census 2021 England: 28,833,712 of 56,490,048 = 0.510, V2): young adults come out ~1 point low.",
    ], folder)
    return out


def build_councils(ref: Path, folder: Path) -> None:
    """Council populations (mid-2019, single year 0..90+) and 2016-17 spend used to share budgets."""
    p = pd.read_csv(ref / "councils" / "population_by_council_age.csv")
    p = p[p["year"] == "mid-2019"]
    wide = p.pivot_table(index=["council_code", "council_name"], columns="age", values="persons").astype(int)
    wide.columns = [f"age_{a}" for a in wide.columns]
    wide = wide.reset_index().rename(columns={"council_code": "code", "council_name": "name"})
    england = wide.drop(columns=["code", "name"]).sum()
    assert int(england.sum()) == 56_286_961, "England mid-2019 total should be 56,286,961"

    fin = pd.read_csv(ref / "councils" / "council_finance.csv").set_index("council_code")
    # 2016-17 finance geography -> April 2020 codes (see councils/SOURCES.md): Buckinghamshire recoded;
    # Bournemouth+Poole -> BCP and old Dorset -> new Dorset (Christchurch moved from Dorset to BCP in 2019,
    # so this is approximate for those two).
    gce = fin["gce_total_gbp000_2016_17"]
    remap = {"E06000060": gce.get("E10000002"), "E06000059": gce.get("E10000009"),
             "E06000058": gce.get("E06000028", 0.0) + gce.get("E06000029", 0.0)}
    wide["gce_2016_17_gbp000"] = [remap.get(c, gce.get(c, np.nan)) for c in wide["code"]]
    same = {"E06000060": "E10000002", "E06000059": "E10000009", "E06000058": "E06000028"}  # BCP: Bournemouth's
    for src, col in (("uc_residential_65plus_per_week_2013_14", "uc_residential_65plus_2013_14_gbp_week"),
                     ("uc_home_care_per_hour_all_adults_2013_14", "uc_home_care_2013_14_gbp_hour")):
        wide[col] = [fin[src].get(same.get(c, c), np.nan) for c in wide["code"]]
    _write(wide, "councils_mid2019.csv", [
        "Councils with adult social care duties (151 upper-tier authorities, April 2020 codes):",
        "population by single year of age, mid-2019 (age_90 = 90 and over), persons.",
        "Source: ONS mid-year population estimates mid-2019, MYE2 Persons (ukmidyearestimates20192020ladcodes.xls),",
        "via humaniverse/demographr population19_utla20; status V. England total 56,286,961.",
        "gce_2016_17_gbp000: gross current expenditure on adult social care 2016-17, GBP thousands cash,",
        "NHS Digital ASC-FR 2016-17 (CSV ASCFR Totals); status V. Used only to share a national budget between",
        "councils. Dorset/BCP are mapped from the 2016-17 councils approximately; Isles of Scilly has none (blank).",
        "uc_residential_65plus_2013_14_gbp_week, uc_home_care_2013_14_gbp_hour: published unit costs 2013-14",
        "(HSCIC PSS-EX1 2013-14 council annex; England 538.2 and 17.2), status V; they set each council's cost level",
        "relative to England. BCP takes Bournemouth's; blank where not reported (cost level 1).",
    ], folder)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and rebuild; 0 on success, 2 (one line on stderr) when a source is missing."""
    parser = argparse.ArgumentParser(prog="python -m simulator.data.build",
                                     description="Rebuild simulator/data/*.csv from the raw sources in data/raw/.")
    parser.add_argument("--raw", type=Path, default=RAW, help="folder of the raw sources (default: data/raw/)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write the CSVs to (default: simulator/data/)")
    args = parser.parse_args(argv)
    missing = [name for name in SOURCES if not (args.raw / name).is_file()]
    if missing:
        print(f"build: error: {args.raw}: missing {', '.join(missing)}; expected the raw sources of a clone of the "
              "repository (data/raw/, see its README.md) or --raw FOLDER", file=sys.stderr)
        return 2
    if not args.out.is_dir():
        print(f"build: error: --out {args.out}: not a folder", file=sys.stderr)
        return 2
    mort = build_mortality(args.raw, args.out)
    build_female_share(mort, args.out)
    build_councils(args.raw, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
