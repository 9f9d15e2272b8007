"""The package's imports point one way: no module of geomexp imports (directly or through others, at its
top or inside a function) a module that imports it back (issue 25: ``experiment.repeats`` and
``experiment.runner``, ``report.figures`` and ``report.downstream``/``report.dimensions`` did)."""

import ast
import re

from conftest import ROOT


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: geomexp modules it imports}``, every import statement counted (lazy ones too). ``from pkg
    import sub`` counts as importing ``pkg.sub`` alone (importing a sibling through its package is not a cycle)."""
    files = {module_name(p): p for p in (ROOT / "geomexp").rglob("*.py")}
    graph = {}
    for mod, path in files.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in files)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    target = f"{node.module}.{a.name}"
                    deps.add(target if target in files else node.module)
        graph[mod] = {d for d in deps if d in files and d != mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert "geomexp.experiment.runner" in graph["geomexp.experiment"]  # the graph sees the package's imports
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


#: ways of building or taking apart a metric key's space suffix by hand (``analyses/keys.py`` does it)
KEY_HANDIWORK = re.compile(
    r"""["']/zero_shot"""  # a zero-shot suffix spelt out
    r"""|partition\(\s*["']/["']\s*\)"""  # a key cut at its first slash
    r"""|f["']/\{"""  # a suffix built with an f-string
    r"""|startswith\([^)]*\+\s*["']/["']\)"""  # a variant found by prefix
)


def test_only_the_keys_module_builds_or_parses_metric_keys():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in (ROOT / "geomexp").rglob("*.py")
        if path.name != "keys.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if KEY_HANDIWORK.search(line)
    ]
    assert offenders == []
    assert KEY_HANDIWORK.search('preds[f"/{enhancement.name}/zero_shot"]')  # the check can fail


def test_metric_keys_round_trip():
    from geomexp.analyses.keys import MetricKey, companion_key, space_suffix

    for key in ("i_cos", "i_cos/cluster", "i_cos/cluster/zero_shot", "xl_overlap.en_ar/abtt"):
        assert MetricKey.parse(key).format() == key
    k = MetricKey.parse("i_cos/cluster/zero_shot")
    assert (k.base, k.method, k.zero_shot, k.depth) == ("i_cos", "cluster", True, 2)
    assert k.with_part("_sd").format() == "i_cos_sd/cluster/zero_shot"
    assert companion_key("i_pc/whiten", "i_pc_spread") == "i_pc_spread/whiten"
    assert space_suffix(None) == "" and space_suffix("abtt", zero_shot=True) == "/abtt/zero_shot"


TAG_LITERAL = re.compile(
    r"""["'](geomexp\.(kind|identity|group|method_version|model|subject|layer|analyses|enhancement|multilingual"""
    r"""|same_as|host|pid|\{)|model\.(commit|fingerprint)|mlflow\.(runName|parentRunId)|data\.checksum\.[\w.]*|machine\.\w*)"""
    r"""["'{.]"""
)


def test_only_the_tag_names_module_spells_a_run_tag():
    """Issue 25, item 2: tag names were literals in 5-6 modules; now geomexp/tag_names.py holds them."""
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in [*(ROOT / "geomexp").rglob("*.py"), ROOT / "run.py"]
        if path.name != "tag_names.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if TAG_LITERAL.search(line)
    ]
    assert offenders == []
    assert TAG_LITERAL.search('rec.tags.get("geomexp.identity")') and TAG_LITERAL.search("'machine.cpu'")
    assert TAG_LITERAL.search('f"machine.{var}"') and TAG_LITERAL.search('"data.checksum." + name')
    from geomexp import tag_names

    assert tag_names.IDENTITY == "geomexp.identity" and tag_names.PARENT_RUN_ID == "mlflow.parentRunId"


def test_the_top_level_holds_entry_points_and_foundations_only():
    """Issue 25, item 7: representation code lives in geomexp/representations/, STS in geomexp/tasks/sts/,
    figures in geomexp/figures/; beside the packages, the top level keeps the reproduce entry point and
    the foundations every layer uses (errors, validation, linalg, layer choices, comparisons, tag names)."""
    top = sorted(p.stem for p in (ROOT / "geomexp").glob("*.py"))
    assert top == ["__init__", "compare", "errors", "layers", "linalg", "reproduce", "tag_names", "validation"]
    for package, modules in {
        "representations": {"sampling", "extraction", "hidden_states", "cache", "word_alignment"},
        "tasks/sts": {"data", "scoring", "task"},
        "figures": {"style", "plots", "report"},
    }.items():
        assert modules <= {p.stem for p in (ROOT / "geomexp" / package).glob("*.py")}, package
