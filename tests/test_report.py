"""Report readings are computed from the checks; the HTML is self-contained and well formed."""

import ast
import base64
import json
import math
from html.parser import HTMLParser
from pathlib import Path

import pytest

from comparisons.report import Check, Report, describe_checks

COMPARISONS = Path(__file__).resolve().parent.parent / "comparisons"
# Phrases that state agreement or a physical outcome as fact. A reading must be derived
# from the run's checks (comparisons/report.py), so no string in the code may claim it.
CLAIMS = ("lies on", "lie on", "coincide", "agree", "in agreement", "follows the", "follow the",
          "as the scba predicts", "as predicted", "confirms", "fills the mirage", "matches the",
          "consistent with", "keeps the mirage dip", "with the dip kept")

_VOID = {"meta", "img", "br", "hr", "input", "link", "col", "area", "base", "wbr", "source"}


def _check(name, value, tol=1.0, comparison="<=", quantity=""):
    return Check(name, value, tol, "relative", "test metric", comparison=comparison,
                 quantity=quantity)


def test_reading_states_quantity_worst_value_tolerance_and_verdict():
    checks = [_check("clean/beta=7/B=1/centre", 0.2, quantity="mirage centre"),
              _check("clean/beta=7/B=2/centre", 0.5, quantity="mirage centre")]
    text = describe_checks(checks)
    assert text == ("mirage centre: largest 0.5 relative (at beta=7, B=2; 2 cases: beta=7; "
                    "B in {1, 2}; tolerance <= 1) - pass.")


def test_failed_and_not_run_checks_are_said_first():
    report = Report(folder=Path("."), parameters={})
    report.add(_check("s/a=1/width", 0.1, quantity="width"))
    report.add(_check("s/a=1/centre", 3.0, quantity="centre"))
    report.add(_check("s/a=2/ratio", 0.5, tol=1.0, comparison=">=", quantity="ratio"))
    report.skip("s/a=3/depth", "feature not resolved", "depth")
    text = describe_checks(report.checks, report.skipped)
    sentences = text.split(". ")
    # Worst margin first: centre 3/1, then ratio 1/0.5.
    assert sentences[0].startswith("FAIL: centre: 1 of 1 outside tolerance; worst 3 relative")
    assert sentences[1].startswith("FAIL: ratio: 1 of 1 outside tolerance; worst 0.5")
    assert sentences[2] == "NOT RUN: depth at a=3: feature not resolved"
    assert text.endswith("width: 0.1 relative (at a=1; tolerance <= 1) - pass.")
    assert describe_checks([]) == "NOT RUN: no check was run for this figure."


def test_margin_and_stage_table():
    report = Report(folder=Path("."), parameters={})
    report.stage = "one"
    report.add(_check("one/x", 0.25, tol=0.5))  # margin 0.5
    report.add(_check("one/y", 4.0, tol=2.0, comparison=">="))  # margin 2 / 4 = 0.5
    report.add(_check("one/z", 0.9, tol=1.0))  # margin 0.9: the worst
    report.stage = "two"
    report.add(_check("two/w", math.nan))
    report.timings.update(one=1.5, two=2.0)
    rows = {r["stage"]: r for r in report.stage_table()}
    assert rows["one"]["passed"] == rows["one"]["total"] == 3
    assert rows["one"]["worst_margin"] == pytest.approx(0.9)
    assert rows["one"]["worst_check"] == "one/z"
    assert rows["two"]["passed"] == 0 and rows["two"]["worst_margin"] == math.inf
    assert rows["one"]["seconds"] == 1.5


def test_tighten_hook_makes_only_the_matching_checks_fail():
    report = Report(folder=Path("."), parameters={}, tighten=("s/a=1/*",))
    report.add(_check("s/a=1/centre", 1e-3))
    report.add(_check("s/a=2/centre", 1e-3))
    report.add(_check("s/a=1/ratio", 2.0, comparison=">="))
    assert [c.passed for c in report.checks] == [False, True, False]
    assert report.checks[0].details["tightened_by_test_hook"] == 1.0


class _Tree(HTMLParser):
    """Checks that every non-void element is closed in order; collects src/href values."""

    def __init__(self):
        super().__init__()
        self.stack, self.refs, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        self.refs += [(tag, k, v) for k, v in attrs if k in ("src", "href")]
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def assert_self_contained_html(path):
    """Parse *path*: balanced tags, every image an embedded PNG, no reference to a file."""
    tree = _Tree()
    text = Path(path).read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    tree.feed(text)
    tree.close()
    assert tree.errors == [] and tree.stack == []
    images = [v for tag, k, v in tree.refs if tag == "img"]
    assert images and all(v.startswith("data:image/png;base64,") for v in images)
    for uri in images:
        assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert [r for r in tree.refs if not r[2].startswith("data:")] == []
    return images


def test_html_report_embeds_its_figures(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report = Report(folder=tmp_path, parameters={"beta": 7})
    report.stage = "s"
    report.add(_check("s/B=1/centre", 0.1, quantity="centre"))
    for name in ("a.png", "b.png"):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, 1])
        ax.set_xlabel("E (Delta0)")
        report.add_figure(fig, name, f"figure {name} <&>", "Drawn: a line.", checks="s/*",
                          pointer="compare Fig. 1(c)")
        plt.close(fig)
    report.timings["s"] = 0.1
    report.write()
    assert len(assert_self_contained_html(tmp_path / "report.html")) == 2
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["figures"][0]["reading"] == (
        "centre: 0.1 relative (at B=1; tolerance <= 1) - pass. Compare Fig. 1(c). "
        "Drawn: a line.")
    markdown = (tmp_path / "report.md").read_text()
    assert "| s | 1/1 | 0 | 0.1 | s/B=1/centre | 0 | pass |" in markdown


def _string_literals(path):
    """Every string constant of a module except docstrings (f-string parts included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_no_fixed_claim_of_agreement_in_the_comparisons_code():
    sources = sorted(COMPARISONS.glob("*.py"))
    assert len(sources) >= 8  # report, validate, suites, figures
    found = [(p.name, s) for p in sources for s in _string_literals(p)
             if any(claim in s.lower() for claim in CLAIMS)]
    assert found == []
    # The phrase list does catch the kind of sentence issue 16 found.
    assert any(c in "the lattice (black) lies on the quasiclassical curve" for c in CLAIMS)
