"""Docs that cannot go stale: every generated table of model results carries the fingerprint of the current
regression references, and no page links to a file a user of the repository does not have."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "data" / "raw" / "README.md",
         ROOT / "benchmarks" / "README.md"]
#: absolute paths a page may name as examples (system files), not as files of the project
SYSTEM_PATHS = ("/tmp", "/dev/", "/etc/", "/usr/", "/proc/")
#: folders a page may name that a run creates (outputs), not files shipped in the repository
OUTPUT_PREFIXES = ("results/",)
#: the team's private folder, its reference folder (now data/raw/) and its machine paths, which no file in the
#: project may name
PRIVATE = re.compile(r"\.\./shared\b|/work/shared|/work/main|(?<![\w./-])reference/")

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
TICK = re.compile(r"`([^`\n]+)`")
REPO_PATH = re.compile(r"[\w.-]+(?:/[\w.-]+)+\.(?:md|py|yaml|yml|csv|png|json|toml|cfg|txt|ipynb)")


def load_builder():
    spec = importlib.util.spec_from_file_location("build_results", ROOT / "docs" / "build_results.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_results"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


builder = load_builder()


def rel(page: Path) -> str:
    return str(page.relative_to(ROOT))


# ------------------------------------------------------------------------------------------------ links

def bad_targets(page: Path, text: str) -> list[str]:
    """Links and backticked paths in ``text`` (a page at ``page``) that point to nothing in the repository."""
    bad = []
    inside = ROOT.resolve()

    def exists_in_repo(candidate: Path) -> bool:
        path = candidate.resolve()
        return (path == inside or inside in path.parents) and path.exists()

    for target in (m[1] for m in LINK.finditer(text)):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor on the page
        if not exists_in_repo(page.parent / target.split("#")[0]):
            bad.append(f"link ({target})")
    for token in (m[1] for m in TICK.finditer(text)):
        if PRIVATE.search(token):
            bad.append(f"`{token}`")
        elif re.match(r"/[\w.]", token):  # an absolute path (not a lone "/")
            if not token.startswith(SYSTEM_PATHS):
                bad.append(f"`{token}` (an absolute path)")
        elif token.startswith(("../", "./")):
            if re.search(r"[^./]", token) and not exists_in_repo(page.parent / token.split()[0]):
                bad.append(f"`{token}`")
        elif REPO_PATH.fullmatch(token) and not token.startswith(OUTPUT_PREFIXES):
            # a path written from the repository's root, the page's folder or the package's
            if not any(exists_in_repo(base / token) for base in (ROOT, page.parent, ROOT / "simulator")):
                bad.append(f"`{token}`")
    return bad


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_link_and_path_on_the_page_exists(page):
    text = page.read_text(encoding="utf-8")
    bad = bad_targets(page, text)
    assert not bad, f"{rel(page)} names files a user does not have: {', '.join(bad)}"
    assert not PRIVATE.search(text), f"{rel(page)} names the team's private folder: {PRIVATE.search(text)[0]}"


def test_the_link_checker_finds_what_it_should():
    """Each kind of broken reference is caught; existing ones pass."""
    page = ROOT / "docs" / "model.md"
    text = ("[ok](scenarios.md) `docs/model.md` `simulator/data/build.py` `actors/council.py` `results/x/y.csv` "
            "`/tmp/x` `../..` `/` [web](https://example.org) [anchor](#top)")
    assert bad_targets(page, text) == []
    for broken in ("[x](nowhere.md)", "`../shared/DESIGN.md`", "`reference/england_figures.yaml`",
                   "`/work/shared/DESIGN.md`", "`/home/me/x.yaml`", "`docs/nowhere.md`", "`../../outside.md`",
                   "![figure](figures/none.png)"):
        assert bad_targets(page, broken), broken


def test_nothing_in_the_repository_names_the_team_folder():
    """No tracked file links to or reads from a folder users do not have (``../shared``, ``/work/...``)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    hits = []
    for name in files:
        path = ROOT / name
        if path.suffix not in {".py", ".md", ".yaml", ".yml", ".cfg", ".toml", ".txt", ".csv", ".sh", ""} \
                or not path.is_file() or name == "tests/test_docs.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if PRIVATE.search(line):
                hits.append(f"{name}:{number}")
    assert not hits, "these lines name a folder users do not have: " + ", ".join(hits)


# ------------------------------------------------------------------------------------ generated tables

def test_generated_tables_carry_the_current_references_fingerprint():
    """Every generated block on every page was made with the current regression references, by a script that
    is in the repository; the known blocks are all present."""
    current = builder.fingerprint()
    found = set()
    for page in PAGES:
        for block in builder.blocks_in(page.read_text(encoding="utf-8")):
            found.add((rel(page), block["name"]))
            script = block["command"].split()[1]
            assert (ROOT / script).is_file(), f"{rel(page)}: {block['name']} is made by {script}, which is missing"
            assert block["fingerprint"] == current, (
                f"{rel(page)}: generated:{block['name']} was made with references {block['fingerprint']}, now "
                f"{current}; run {block['command']}")
    assert {(b.page, b.name) for b in builder.BLOCKS} <= found
    for figure, name in builder.FIGURES:
        comment = builder.figure_comment(ROOT / figure)
        assert comment is not None and comment["name"] == name, f"{figure}: not made by {builder.COMMAND}"
        assert comment["fingerprint"] == current, f"{figure}: made with references {comment['fingerprint']}, now " \
                                                  f"{current}; run {builder.COMMAND}"


def test_check_passes_on_the_shipped_pages():
    assert builder.check() == []
    result = subprocess.run([sys.executable, "docs/build_results.py", "--check"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def copy_tree(tmp_path: Path) -> Path:
    """The pages and references the check reads, copied into a throwaway root."""
    for name in [b.page for b in builder.BLOCKS] + [f for f, _ in builder.FIGURES] + \
            [str(builder.REFERENCES.relative_to(ROOT))]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_check_fails_when_the_references_move(tmp_path):
    root = copy_tree(tmp_path)
    references = root / builder.REFERENCES.relative_to(ROOT)
    references.write_text(references.read_text(encoding="utf-8") + "# moved\n", encoding="utf-8")
    problems = builder.check(root)
    assert len(problems) == len(builder.BLOCKS) + len(builder.FIGURES)
    assert all("made with references" in p and "python docs/build_results.py" in p for p in problems)


def test_check_fails_on_a_figure_not_made_by_the_script(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    root = copy_tree(tmp_path)
    figure, name = builder.FIGURES[0]
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    fig.savefig(root / figure)
    plt.close(fig)
    problems = builder.check(root)
    assert len(problems) == 1 and figure in problems[0] and f"generated:{name}" in problems[0]


def test_check_fails_on_a_table_with_a_row_missing(tmp_path):
    root = copy_tree(tmp_path)
    page = root / "docs" / "scenarios.md"
    text = page.read_text(encoding="utf-8")
    row = next(ln for ln in text.splitlines() if ln.startswith("| funding_cut | baseline |"))
    page.write_text(text.replace(row + "\n", ""), encoding="utf-8")
    problems = builder.check(root)
    assert len(problems) == 1 and "scenario-differences" in problems[0] and "rows" in problems[0]


def test_replacing_a_block_keeps_the_prose_around_it():
    text = ("# Page\n\nprose before\n\n<!-- generated:demo by `python docs/build_results.py`; references "
            "000000000000; old settings -->\n| a |\n|---|\n| 1 |\n<!-- end generated:demo -->\n\nprose after\n")
    new = builder.replace_block(text, "demo", "new settings", "| a |\n|---|\n| 2 |\n")
    assert new.startswith("# Page\n\nprose before\n\n") and new.endswith("\n\nprose after\n")
    block, = builder.blocks_in(new)
    assert block["fingerprint"] == builder.fingerprint() and "new settings" in block["rest"]
    assert "| 2 |" in block["body"] and "| 1 |" not in new
    with pytest.raises(SystemExit):
        builder.replace_block(text, "other", "settings", "")


DIFFERENCE_CELL = re.compile(r"\|\s*\*?[+-]\d+(?:\.\d+)?\*?\s*/\s*\*?[+-]\d+(?:\.\d+)?\*?\s*\|")


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_no_hand_made_table_of_differences(page):
    """A table of scenario differences ("after 5 / after 20 years" cells) appears only inside a generated block."""
    text = page.read_text(encoding="utf-8")
    outside = builder.MARKER.sub("", text)
    rows = [ln for ln in outside.splitlines() if ln.startswith("|") and DIFFERENCE_CELL.search(ln)]
    assert not rows, f"{rel(page)}: a hand-made table of results: {rows[0][:80]}"
