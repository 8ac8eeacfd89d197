"""Validation report: checks with tolerances, ``summary.json``, ``report.md`` and ``report.html``.

A `Check` is one number compared against a tolerance. A `Report` collects checks
and figures, and writes the report folder atomically file by file (every file is
written to a temporary name and renamed), so an interrupted run leaves either the
previous file or the new one, never half of one.
"""

import html
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mirage_common.io import atomic_write_bytes, save_png  # save_png: re-exported
from mirage_common.version import __version__

__all__ = ["Check", "Figure", "Report", "save_png"]


def _json_default(obj):
    """NumPy scalars and arrays (common in check details) as plain JSON values."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


@dataclass(frozen=True)
class Check:
    """One metric against its tolerance.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``"clean/B=2/centre"``.
    value : float
        The measured metric (a relative or absolute difference, a rate...).
    tolerance : float
        Pass when ``value <= tolerance`` (``comparison="<="``) or ``>=`` for
        ``comparison=">="``.
    unit : str
        Unit of value and tolerance (``"relative"``, ``"Delta0"``...).
    reading : str
        One line a physicist can read: what was compared and why the tolerance.
    comparison : str
        ``"<="`` or ``">="``.
    details : dict
        Raw numbers behind the metric (both sides, errors...).
    """

    name: str
    value: float
    tolerance: float
    unit: str
    reading: str
    comparison: str = "<="
    details: dict = field(default_factory=dict)

    @property
    def passed(self):
        if not math.isfinite(self.value):
            return False
        if self.comparison == "<=":
            return self.value <= self.tolerance
        return self.value >= self.tolerance


@dataclass(frozen=True)
class Figure:
    """A PNG in the report folder with a one-line reading."""

    filename: str
    title: str
    reading: str


@dataclass
class Report:
    """Collects checks and figures of one validation run."""

    folder: Path
    parameters: dict
    checks: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def add(self, check):
        self.checks.append(check)
        return check

    def add_figure(self, fig, filename, title, reading):
        """Save a matplotlib figure as PNG (atomically) and register it."""
        save_png(fig, Path(self.folder) / filename)
        self.figures.append(Figure(filename, title, reading))

    @property
    def passed(self):
        return all(c.passed for c in self.checks)

    def summary(self):
        return {
            "version": __version__,
            "passed": self.passed,
            "parameters": self.parameters,
            "checks": [
                {**asdict(c), "passed": c.passed} for c in self.checks
            ],
            "figures": [asdict(f) for f in self.figures],
            "notes": self.notes,
        }

    def _markdown(self):
        lines = [
            "# mirage validate: lattice vs quasiclassics",
            "",
            f"latticemirage {__version__}. Overall: **{'PASS' if self.passed else 'FAIL'}** "
            f"({sum(c.passed for c in self.checks)}/{len(self.checks)} checks pass).",
            "",
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
            "| check | value | tolerance | unit | result | reading |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in self.checks:
            lines.append(
                f"| `{c.name}` | {c.value:.4g} | {c.comparison} {c.tolerance:.4g} | {c.unit} | "
                f"{'pass' if c.passed else '**FAIL**'} | {c.reading.replace('|', chr(92) + '|')} |"
            )
        lines += ["", "## Figures", ""]
        for f in self.figures:
            lines += [f"### {f.title}", "", f"![{f.title}]({f.filename})", "", f.reading, ""]
        if self.notes:
            lines += ["## Notes", "", *[f"- {n}" for n in self.notes], ""]
        return "\n".join(lines)

    def _html(self):
        rows = "\n".join(
            f"<tr class={'pass' if c.passed else 'fail'}>"
            f"<td><code>{html.escape(c.name)}</code></td>"
            f"<td>{c.value:.4g}</td><td>{html.escape(c.comparison)} {c.tolerance:.4g}</td>"
            f"<td>{html.escape(c.unit)}</td><td>{'pass' if c.passed else 'FAIL'}</td>"
            f"<td>{html.escape(c.reading)}</td></tr>"
            for c in self.checks
        )
        figs = "\n".join(
            f"<h3>{html.escape(f.title)}</h3><img src='{html.escape(f.filename)}' "
            f"style='max-width:100%'><p>{html.escape(f.reading)}</p>"
            for f in self.figures
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        params = html.escape(json.dumps(self.parameters, indent=1, default=_json_default))
        return f"""<!doctype html><html><head><meta charset="utf-8">
<title>mirage validate</title><style>
body{{font-family:sans-serif;max-width:1100px;margin:auto}}
td,th{{border:1px solid #ccc;padding:3px}} table{{border-collapse:collapse}}
tr.fail{{background:#fdd}} tr.pass{{background:#efe}}</style></head>
<body><h1>mirage validate: lattice vs quasiclassics</h1>
<p>latticemirage {__version__}. Overall: <b>{'PASS' if self.passed else 'FAIL'}</b>.
Units: energies in &Delta;0, temperatures in T<sub>c0</sub>.</p>
<h2>Parameters</h2><pre>{params}</pre>
<h2>Checks</h2><table><tr><th>check</th><th>value</th><th>tolerance</th><th>unit</th>
<th>result</th><th>reading</th></tr>{rows}</table>
<h2>Figures</h2>{figs}<h2>Notes</h2><ul>{notes}</ul></body></html>
"""

    def write(self):
        """Write ``summary.json``, ``report.md`` and ``report.html`` into the folder."""
        folder = Path(self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        summary = json.dumps(self.summary(), indent=1, default=_json_default)
        atomic_write_bytes(folder / "summary.json", summary.encode())
        atomic_write_bytes(folder / "report.md", self._markdown().encode())
        atomic_write_bytes(folder / "report.html", self._html().encode())
