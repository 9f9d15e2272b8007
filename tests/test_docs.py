"""The README and the documentation site hold together without building the site: the README stays
short, every relative link and image resolves (to a file, and to a heading where it names one), every
page is in the site's navigation, the gallery page shows what docs/gallery.py makes, and every API
reference directive names an object that exists. ``make docs`` (mkdocs, strict) checks the same and
renders the docstrings; these checks run in the fast suite, where mkdocs is not installed."""

from __future__ import annotations

import importlib
import re
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def slug(heading: str) -> str:
    """Python-Markdown's toc slug of a heading's text (what mkdocs makes its anchor)."""
    text = re.sub(r"[`*]", "", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    body = FENCE.sub("", page.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", body, re.M)}


def links(page: Path) -> list[str]:
    body = INLINE_CODE.sub("", FENCE.sub("", page.read_text()))
    return LINK.findall(body)


def test_the_readme_is_short():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= 250, f"README.md has {n} lines; the rest belongs in docs/ (at most 250)"


@pytest.mark.parametrize("page", [ROOT / "README.md", *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target} (no file {dest})")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    assert not broken, f"{page.relative_to(ROOT)} links to: " + "; ".join(broken)


def test_the_link_checker_sees_a_broken_link_and_anchor(tmp_path):
    (tmp_path / "a.md").write_text("# Title: one\n\n[ok](#title-one) [bad](b.md) [bad anchor](#nope) `[no](x.md)`\n")
    found = links(tmp_path / "a.md")
    assert found == ["#title-one", "b.md", "#nope"]
    assert anchors(tmp_path / "a.md") == {"title-one"}


def nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [p for value in node.values() for p in nav_pages(value)]
    return [p for item in node for p in nav_pages(item)]


def test_every_page_is_in_the_navigation_and_every_entry_exists():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    listed = nav_pages(config["nav"])
    on_disk = {str(p.relative_to(DOCS)) for p in PAGES}
    assert sorted(set(listed) - on_disk) == [], "mkdocs.yml lists pages that do not exist"
    assert sorted(on_disk - set(listed)) == [], "pages missing from mkdocs.yml's nav"
    assert len(listed) == len(set(listed)), "a page is listed twice"


def test_the_gallery_page_shows_exactly_what_the_gallery_script_makes():
    sys.path.insert(0, str(DOCS))
    try:
        gallery = importlib.import_module("gallery")
    finally:
        sys.path.remove(str(DOCS))
    shown = [t for t in links(DOCS / "gallery.md") if t.startswith("gallery/")]
    made = [f"gallery/{name}" for _, name, _ in gallery.FIGURES]
    assert shown == made, "docs/gallery.md is out of date: python docs/gallery.py regenerates it"
    for target in made:
        assert (DOCS / target).stat().st_size > 10_000, f"docs/{target} is not a real figure"
    assert (DOCS / "images" / "report.png").is_file()


def test_every_api_directive_names_an_object_that_exists():
    directives = [(page, m.group(1)) for page in PAGES for m in re.finditer(r"^::: ([\w.]+)", page.read_text(), re.M)]
    assert len(directives) >= 10
    for page, dotted in directives:
        module, obj = dotted, None
        while True:
            try:
                found = importlib.import_module(module)
                break
            except ModuleNotFoundError:
                module, _, attr = module.rpartition(".")
                obj = attr if obj is None else f"{attr}.{obj}"
                assert module, f"{page.name}: ::: {dotted} names no module"
        for attr in (obj or "").split(".") if obj else []:
            found = getattr(found, attr, None)
            assert found is not None, f"{page.name}: ::: {dotted} names nothing ({attr} is missing)"
        assert found.__doc__, f"{page.name}: {dotted} has no docstring to render"


def test_the_public_metrics_are_all_in_the_api_reference():
    """The metrics page renders ``geomexp.metrics`` whole: every name of its __all__ has a docstring."""
    import geomexp.metrics as metrics

    assert "::: geomexp.metrics" in (DOCS / "api" / "metrics.md").read_text()
    undocumented = [name for name in metrics.__all__ if not getattr(metrics, name).__doc__]
    assert undocumented == []


def analysis_table(page: Path) -> list[str]:
    return [line for line in page.read_text().splitlines() if re.match(r"\| `[a-z_0-9]+` \|", line)]


def test_the_analysis_table_lists_every_analysis_and_is_the_same_in_the_readme_and_the_docs():
    readme, home = analysis_table(ROOT / "README.md"), analysis_table(DOCS / "index.md")
    assert readme == home, "README.md and docs/index.md show different analysis tables"
    listed = {re.match(r"\| `([a-z_0-9]+)`", line).group(1) for line in readme}
    options = {p.stem for p in (ROOT / "conf" / "analysis").glob("*.yaml")}
    assert listed == options, f"not in the table: {sorted(options - listed)}; not an option: {sorted(listed - options)}"
