"""Validation report: checks with tolerances, readings derived from them, and the report files.

A `Check` is one number compared against a tolerance. A `Report` collects the checks,
the checks that could not be run (`Report.skip`), figures and the stage timings, and
writes the report folder atomically file by file (every file is written to a temporary
name and renamed), so an interrupted run leaves either the previous file or the new one,
never half of one.

Readings are computed, never written by hand
--------------------------------------------
Every sentence that judges a figure is generated from the checks of *this* run, so a
report reads differently when a check fails. The API a stage uses:

* ``report.add(Check(name, value, tolerance, unit, description, quantity=...))`` for each
  metric. ``name`` is ``"stage/where.../key"`` (e.g. ``"clean/beta=7/B=2/centre"``):
  the parts between the stage and the key (or after the stage when the key contains
  ``=``) say *where*; ``quantity`` is the human name of what is compared ("mirage
  centre, lattice vs formula") and groups checks in the readings (default: the key).
* ``report.skip(name, reason, quantity=...)`` for a check that could not be run (e.g.
  a feature not resolved): readings and the stage table list it as *not run*.
* ``report.add_figure(fig, filename, title, description, checks=("clean/beta=7/*",),
  pointer="compare Fig. 1(c)")``: the figure's reading is `describe_checks` of the
  checks and skips whose names match the glob patterns *checks*, then the *pointer* to
  the paper (a pointer, not a claim), then the *description* of what is drawn
  (colours, axes; it must not claim agreement: `tests/test_report.py` greps for that).
* `describe_checks` (also usable on its own) writes, per quantity: what was compared,
  the worst value with its unit and location, the tolerance and the verdict, e.g.
  ``"mirage centre, lattice vs formula: largest 0.000109 relative (at beta=7, B=2; 2
  cases: beta=7; B in {2, 4}; tolerance <= 0.01) - pass."`` A failed quantity, a check
  not run, or a figure with no check at all is said first (``"FAIL: ..."``,
  ``"NOT RUN: ..."``).

The report opens with a per-stage table: checks passed/total, not run, the worst
*margin* (``value / tolerance`` for ``<=`` checks, ``tolerance / value`` for ``>=``:
below 1 passes, the closer to 1 the closer to failing) and the stage's time.

Files: ``summary.json`` (every number), ``report.md`` (refers to the PNGs beside it:
share the folder) and ``report.html``, self-contained (the PNGs embedded as base64
``data:`` URIs), so that one file can be mailed or opened anywhere.
"""

import base64
import fnmatch
import html
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from mirage_common.io import atomic_write_bytes, save_png  # save_png: re-exported
from mirage_common.version import __version__

__all__ = ["Check", "Figure", "Report", "Skipped", "describe_checks", "save_png"]


def _json_default(obj):
    """NumPy scalars and arrays (common in check details) as plain JSON values."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


class _Named:
    """``label`` and ``where`` of a check or a not-run entry, from its name and quantity."""

    @property
    def label(self):
        """`quantity`, or the last part of the name."""
        return self.quantity or _split_name(self.name)[1]

    @property
    def where(self):
        """Location parts of the name (``"beta=7, B=2"``), '' if none."""
        return _split_name(self.name)[0]


@dataclass(frozen=True)
class Check(_Named):
    """One metric against its tolerance.

    Attributes
    ----------
    name : str
        ``"stage/where.../key"``, e.g. ``"clean/beta=7/B=2/centre"`` (module docstring).
    value : float
        The measured metric (a relative or absolute difference, a rate...).
    tolerance : float
        Pass when ``value <= tolerance`` (``comparison="<="``) or ``>=`` for
        ``comparison=">="``.
    unit : str
        Unit of value and tolerance (``"relative"``, ``"Delta0"``...).
    reading : str
        What was compared and why the tolerance (a description, not a verdict).
    comparison : str
        ``"<="`` or ``">="``.
    details : dict
        Raw numbers behind the metric (both sides, errors...).
    quantity : str
        Human name of the compared quantity; groups checks in the readings. Default: the
        last part of *name*.
    stage : str
        The validate stage that added it (set by `Report.add`).
    """

    name: str
    value: float
    tolerance: float
    unit: str
    reading: str
    comparison: str = "<="
    details: dict = field(default_factory=dict)
    quantity: str = ""
    stage: str = ""

    @property
    def passed(self):
        if not math.isfinite(self.value):
            return False
        if self.comparison == "<=":
            return self.value <= self.tolerance
        return self.value >= self.tolerance

    @property
    def margin(self):
        """``value / tolerance`` (``<=``) or ``tolerance / value`` (``>=``): < 1 passes."""
        value, tol = float(self.value), float(self.tolerance)
        if not math.isfinite(value):
            return math.inf
        if self.comparison == "<=":
            if tol > 0:
                return value / tol
            return 0.0 if value <= tol else math.inf
        if value > 0:
            return tol / value
        return 0.0 if value >= tol else math.inf


@dataclass(frozen=True)
class Skipped(_Named):
    """A check that could not be run, and why (listed as *not run*)."""

    name: str
    reason: str
    quantity: str = ""
    stage: str = ""


def _split_name(name):
    """``"clean/beta=7/B=2/centre"`` -> ``("beta=7, B=2", "centre")``.

    A last part containing ``=`` is a location too (``"bc2/beta=7/T=0.5"``); the key is
    then the stage part.
    """
    parts = str(name).split("/")
    if len(parts) == 1:
        return "", parts[0]
    if "=" in parts[-1]:
        return ", ".join(parts[1:]), parts[0]
    return ", ".join(parts[1:-1]), parts[-1]


def _fmt(value):
    return f"{value:.3g}" if isinstance(value, (int, float)) and math.isfinite(value) else \
        str(value)


def _span(group):
    """Where a group of checks ran, from the name parts: ``"beta=7; B in {2, 4}"``."""
    values, plain = {}, []
    for c in group:
        for part in c.where.split(", ") if c.where else ():
            key, eq, value = part.partition("=")
            if not eq:
                plain += [] if part in plain else [part]
            elif value not in values.setdefault(key, []):
                values[key].append(value)
    spans = [f"{key}={vals[0]}" if len(vals) == 1 else
             f"{key} in {{{', '.join(vals) if len(vals) <= 6 else vals[0] + ', ..., ' + vals[-1]}}}"
             for key, vals in values.items()]
    if plain:
        spans.append(", ".join(plain))
    return "; ".join(spans)


def describe_checks(checks, skipped=()):
    """Readings of a group of checks, generated from their values and verdicts.

    Parameters
    ----------
    checks : iterable of Check
    skipped : iterable of Skipped
        Checks that were meant to run and did not.

    Returns
    -------
    str
        Sentences, one per quantity (checks grouped by `Check.label`): failed quantities
        first, the largest margin first (``"FAIL: ..."``), then checks not run
        (``"NOT RUN: ..."``), then the passing ones; ``"NOT RUN: no check was run for this
        figure."`` when both are empty.
    """
    checks, skipped = list(checks), list(skipped)
    if not checks and not skipped:
        return "NOT RUN: no check was run for this figure."
    groups = {}
    for c in checks:
        groups.setdefault(c.label, []).append(c)
    failed, passed = [], []
    for label, group in groups.items():
        worst = max(group, key=lambda c: c.margin)
        bad = [c for c in group if not c.passed]
        extreme = "largest" if worst.comparison == "<=" else "smallest"
        at = f"at {worst.where}; " if worst.where else ""
        span = _span(group)
        count = f"{len(group)} cases: {span}; " if len(group) > 1 and span else \
            (f"{len(group)} cases; " if len(group) > 1 else "")
        tol = f"tolerance {worst.comparison} {_fmt(worst.tolerance)}"
        value = f"{_fmt(worst.value)} {worst.unit}"
        if bad:
            failed.append((worst.margin, f"FAIL: {label}: {len(bad)} of {len(group)} outside "
                                         f"tolerance; worst {value} ({at}{tol})."))
        else:
            lead = f"{extreme} " if len(group) > 1 else ""
            passed.append(f"{label}: {lead}{value} ({at}{count}{tol}) - pass.")
    not_run = [f"NOT RUN: {s.label}" + (f" at {s.where}" if s.where else "") + f": {s.reason}."
               for s in skipped]
    failed = [text for _, text in sorted(failed, key=lambda item: -item[0])]  # worst first
    return " ".join(failed + not_run + passed)


@dataclass(frozen=True)
class Figure:
    """A PNG in the report folder, the checks it illustrates and a neutral description.

    Attributes
    ----------
    filename, title : str
    description : str
        What is drawn (curves, colours); no verdict.
    checks : tuple of str
        Glob patterns of the check names whose reading goes with the figure.
    pointer : str
        Where to compare in the paper, e.g. ``"compare Fig. 1(c)"``.
    """

    filename: str
    title: str
    description: str = ""
    checks: tuple = ()
    pointer: str = ""


def _matches(name, patterns):
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


@dataclass
class Report:
    """Collects checks, skipped checks, figures, notes and timings of one validation run.

    Attributes
    ----------
    stage : str
        The stage now running; `add` and `skip` stamp it on what they record.
    tighten : tuple of str
        Test hook: glob patterns of checks whose tolerance is made impossible to meet
        (times 1e-9 for ``<=``, 1e9 for ``>=``), to exercise the failure path
        (``mirage validate --tighten``).
    timings : dict
        Seconds per stage.
    """

    folder: Path
    parameters: dict
    checks: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    stage: str = ""
    tighten: tuple = ()

    def add(self, check):
        """Record *check* (stamped with the current stage); returns the recorded check."""
        changes = {"stage": check.stage or self.stage}
        if self.tighten and _matches(check.name, self.tighten):
            factor = 1e-9 if check.comparison == "<=" else 1e9
            changes["tolerance"] = check.tolerance * factor if check.tolerance else factor - 1
            changes["details"] = {**check.details, "tightened_by_test_hook": check.tolerance}
        check = replace(check, **changes)
        self.checks.append(check)
        return check

    def add_all(self, checks):
        """`add` each of *checks*; returns the recorded list."""
        return [self.add(c) for c in checks]

    def skip(self, name, reason, quantity=""):
        """Record a check that could not be run, with the reason (reported as not run)."""
        self.skipped.append(Skipped(name, reason, quantity, self.stage))

    def add_figure(self, fig, filename, title, description="", *, checks=(), pointer=""):
        """Save a matplotlib figure as PNG (atomically) and register it.

        Parameters
        ----------
        fig : matplotlib.figure.Figure
        filename, title : str
        description : str
            What is drawn; no claim of agreement (the reading is computed).
        checks : str or tuple of str
            Glob patterns of the names of the checks (and skips) the figure illustrates.
        pointer : str
            Where to compare in the paper, e.g. ``"compare Fig. 1(c)"``.
        """
        save_png(fig, Path(self.folder) / filename)
        checks = (checks,) if isinstance(checks, str) else tuple(checks)
        self.figures.append(Figure(filename, title, description, checks, pointer))

    def figure_checks(self, figure):
        """The checks and skips whose names match the figure's patterns."""
        return ([c for c in self.checks if _matches(c.name, figure.checks)],
                [s for s in self.skipped if _matches(s.name, figure.checks)])

    def figure_reading(self, figure):
        """The figure's reading: `describe_checks` of its checks, pointer, description."""
        parts = [describe_checks(*self.figure_checks(figure))]
        if figure.pointer:
            parts.append(figure.pointer[0].upper() + figure.pointer[1:].rstrip(".") + ".")
        if figure.description:
            parts.append(figure.description)
        return " ".join(parts)

    @property
    def passed(self):
        return all(c.passed for c in self.checks)

    def stage_table(self):
        """Per stage: passed, total, not run, worst margin and its check, seconds."""
        stages = list(dict.fromkeys([*self.timings, *(c.stage for c in self.checks),
                                     *(s.stage for s in self.skipped)]))
        rows = []
        for stage in stages:
            mine = [c for c in self.checks if c.stage == stage]
            worst = max(mine, key=lambda c: c.margin) if mine else None
            rows.append({
                "stage": stage or "(none)",
                "passed": sum(c.passed for c in mine),
                "total": len(mine),
                "not_run": sum(s.stage == stage for s in self.skipped),
                "worst_margin": worst.margin if worst else None,
                "worst_check": worst.name if worst else None,
                "seconds": self.timings.get(stage),
            })
        return rows

    def summary(self):
        return {
            "version": __version__,
            "passed": self.passed,
            "parameters": self.parameters,
            "stages": self.stage_table(),
            "timings_seconds": dict(self.timings),
            "checks": [{**asdict(c), "passed": c.passed, "margin": c.margin}
                       for c in self.checks],
            "not_run": [asdict(s) for s in self.skipped],
            "figures": [{**asdict(f), "reading": self.figure_reading(f)} for f in self.figures],
            "notes": self.notes,
        }

    def _overall(self):
        n_pass, n = sum(c.passed for c in self.checks), len(self.checks)
        verdict = "PASS" if self.passed else "FAIL"
        extra = f", {len(self.skipped)} not run" if self.skipped else ""
        return verdict, f"{n_pass}/{n} checks pass{extra}"

    def _stage_rows(self):
        for row in self.stage_table():
            margin = "-" if row["worst_margin"] is None else _fmt(row["worst_margin"])
            seconds = "-" if row["seconds"] is None else f"{row['seconds']:.0f}"
            verdict = "pass" if row["passed"] == row["total"] else "FAIL"
            yield (row["stage"], f"{row['passed']}/{row['total']}", str(row["not_run"]), margin,
                   row["worst_check"] or "-", seconds, verdict)

    _STAGE_HEAD = ("stage", "checks passed", "not run", "worst margin (value/tolerance)",
                   "worst check", "time (s)", "result")

    def _markdown(self):
        verdict, counts = self._overall()
        total = sum(v for v in self.timings.values() if v is not None)
        lines = [
            "# mirage validate: lattice vs quasiclassics",
            "",
            f"latticemirage {__version__}. Overall: **{verdict}** ({counts}); run time "
            f"{total:.0f} s.",
            "",
            "| " + " | ".join(self._STAGE_HEAD) + " |",
            "| " + " | ".join("---" for _ in self._STAGE_HEAD) + " |",
            *("| " + " | ".join(row) + " |" for row in self._stage_rows()),
            "",
            "Margin: value/tolerance (tolerance/value for lower bounds); a check passes below 1.",
            "Units: energies in Δ0 (zero-temperature gap at B = Γ = 0), temperatures in T_c0.",
            "",
            "## Parameters",
            "",
            "```json",
            json.dumps(self.parameters, indent=1, default=_json_default),
            "```",
            "",
            "## Checks",
            "",
            "| check | value | tolerance | unit | margin | result | description |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for c in self.checks:
            lines.append(
                f"| `{c.name}` | {c.value:.4g} | {c.comparison} {c.tolerance:.4g} | {c.unit} | "
                f"{_fmt(c.margin)} | {'pass' if c.passed else '**FAIL**'} | "
                f"{c.reading.replace('|', chr(92) + '|')} |"
            )
        for s in self.skipped:
            lines.append(f"| `{s.name}` | - | - | - | - | **not run** | "
                         f"{s.reason.replace('|', chr(92) + '|')} |")
        lines += ["", "## Figures", ""]
        for f in self.figures:
            lines += [f"### {f.title}", "", f"![{f.title}]({f.filename})", "",
                      self.figure_reading(f), ""]
        if self.notes:
            lines += ["## Notes", "", *[f"- {n}" for n in self.notes], ""]
        return "\n".join(lines)

    def _image_uri(self, filename):
        """The PNG as a base64 data URI (self-contained HTML)."""
        data = (Path(self.folder) / filename).read_bytes()
        return "data:image/png;base64," + base64.b64encode(data).decode("ascii")

    def _html(self):
        esc = html.escape
        verdict, counts = self._overall()
        total = sum(v for v in self.timings.values() if v is not None)
        head = "".join(f"<th>{esc(h)}</th>" for h in self._STAGE_HEAD)
        stages = "\n".join(
            f"<tr class='{'pass' if row[-1] == 'pass' else 'fail'}'>"
            + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>"
            for row in self._stage_rows()
        )
        rows = "\n".join(
            f"<tr class='{'pass' if c.passed else 'fail'}'>"
            f"<td><code>{esc(c.name)}</code></td>"
            f"<td>{c.value:.4g}</td><td>{esc(c.comparison)} {c.tolerance:.4g}</td>"
            f"<td>{esc(c.unit)}</td><td>{esc(_fmt(c.margin))}</td>"
            f"<td>{'pass' if c.passed else 'FAIL'}</td><td>{esc(c.reading)}</td></tr>"
            for c in self.checks
        )
        rows += "\n".join(
            f"<tr class='fail'><td><code>{esc(s.name)}</code></td><td>-</td><td>-</td>"
            f"<td>-</td><td>-</td><td>not run</td><td>{esc(s.reason)}</td></tr>"
            for s in self.skipped
        )
        figs = "\n".join(
            f"<h3>{esc(f.title)}</h3><img src=\"{self._image_uri(f.filename)}\" "
            f"alt=\"{esc(f.title)}\" style=\"max-width:100%\"><p>{esc(self.figure_reading(f))}</p>"
            for f in self.figures
        )
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes)
        params = esc(json.dumps(self.parameters, indent=1, default=_json_default))
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>mirage validate</title><style>
body{{font-family:sans-serif;max-width:1100px;margin:auto}}
td,th{{border:1px solid #ccc;padding:3px}} table{{border-collapse:collapse}}
tr.fail{{background:#fdd}} tr.pass{{background:#efe}}</style></head>
<body><h1>mirage validate: lattice vs quasiclassics</h1>
<p>latticemirage {esc(__version__)}. Overall: <b>{verdict}</b> ({esc(counts)}); run time
{total:.0f} s.</p>
<table><tr>{head}</tr>
{stages}</table>
<p>Margin: value/tolerance (tolerance/value for lower bounds); a check passes below 1.
Units: energies in &Delta;0, temperatures in T<sub>c0</sub>.</p>
<h2>Parameters</h2><pre>{params}</pre>
<h2>Checks</h2><table><tr><th>check</th><th>value</th><th>tolerance</th><th>unit</th>
<th>margin</th><th>result</th><th>description</th></tr>
{rows}</table>
<h2>Figures</h2>
{figs}
<h2>Notes</h2><ul>{notes}</ul></body></html>
"""

    def write(self):
        """Write ``summary.json``, ``report.md`` and ``report.html`` into the folder."""
        folder = Path(self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        summary = json.dumps(self.summary(), indent=1, default=_json_default)
        atomic_write_bytes(folder / "summary.json", summary.encode())
        atomic_write_bytes(folder / "report.md", self._markdown().encode())
        atomic_write_bytes(folder / "report.html", self._html().encode())
