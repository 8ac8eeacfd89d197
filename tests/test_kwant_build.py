"""The Kwant we ship: patch set, build stamp, doctor report, Kwant's own plotting of our bulk."""

import importlib.util
import subprocess
from pathlib import Path

import numpy as np
import pytest

from comparisons import kwant_build as kb
from mirage_cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def assert_png(path, min_side=100):
    """*path* is a decodable PNG with something drawn on it."""
    import matplotlib.image

    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 0
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and min(img.shape[:2]) >= min_side
    assert img[..., :3].std() > 0.01  # not a blank canvas


def test_patch_hash_is_the_bootstraps():
    """Doctor and bootstrap hash the same bytes: the build stamp can be compared."""
    out = subprocess.run(["bash", str(ROOT / "tools" / "bootstrap.sh"), "--patch-hash"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == kb.patch_set_hash()
    assert len(out) == 12


@pytest.mark.parametrize(
    ("label", "mumps", "expected"),
    [
        ("", "mumps", "built WITHOUT the patch set"),  # a wheel cached before the patches
        ("+mirage.0123456789ab.mumps", "mumps", "built with another patch set, 0123456789ab"),
        ("+mirage.{h}.nomumps", "mumps", "built without MUMPS, which is now available"),
        ("+mirage.{h}.mumps", "nomumps", "built with MUMPS, which cannot be linked now"),
        ("+mirage.{h}.mumps", "mumps", "current"),
        ("+mirage.{h}.nomumps", "nomumps", "current"),
    ],
)
def test_bootstrap_refuses_stale_cached_wheels(label, mumps, expected):
    """The bootstrap's verdict on a cached wheel by its name (stale ones are rebuilt)."""
    version = kb.patch_target() + label.format(h=kb.patch_set_hash())
    wheel = f"/cache/kwant-{version}-cp311-cp311-linux_x86_64.whl"
    out = subprocess.run(["bash", str(ROOT / "tools" / "bootstrap.sh"), "--wheel-status", wheel,
                          mumps], capture_output=True, text=True, check=True).stdout.strip()
    assert out.startswith(expected), out


def test_every_patch_is_listed_and_documented():
    listed = kb.patch_list()
    on_disk = sorted(p.name for p in kb.PATCH_DIR.glob("*.patch"))
    assert sorted(listed) == on_disk and len(listed) == len(set(listed))
    target = kb.patch_target()
    for name in listed:
        header = (kb.PATCH_DIR / name).read_text().split("\n--- a/", 1)[0]
        for field in ("Subject:", "Reason:", "Kind:", "Upstream:"):
            assert field in header, (name, field)
        assert f"Target: kwant {target}" in header, name


@pytest.mark.parametrize(
    ("version", "patched", "current", "status"),
    [
        ("1.5.0", False, False, "NOT the patched build"),
        ("1.5.0+mirage.0123456789ab.mumps", True, False, "OLDER patch set 0123456789ab"),
        ("9.0.0", False, False, "newer than the patch set's target"),
        (None, True, True, "current patch set"),  # None: the label of the current set
    ],
)
def test_kwant_build_reads_the_version_label(monkeypatch, version, patched, current, status):
    import kwant

    if version is None:
        version = f"{kb.patch_target()}+mirage.{kb.patch_set_hash()}.nomumps"
    monkeypatch.setattr(kwant, "__version__", version)
    build = kb.kwant_build()
    assert (build.version, build.patched, build.current) == (version, patched, current)
    assert status in build.status


def test_installed_kwant_is_the_current_patched_build():
    """`make setup` installs Kwant with the patch set now in tools/kwant-patches."""
    build = kb.kwant_build()
    assert build.current or build.status.startswith("release"), build.status


def test_doctor_reports_build_and_mumps(capsys):
    assert main(["doctor"]) == 0
    lines = {line[:13].strip(): line[14:] for line in capsys.readouterr().out.splitlines()}
    assert lines["kwant build"] == kb.kwant_build().status
    linked = importlib.util.find_spec("kwant.linalg._mumps") is not None
    assert lines["kwant MUMPS"].startswith("yes" if linked else "no")


def _kwant_suite():
    spec = importlib.util.spec_from_file_location("kwant_suite", ROOT / "tools" / "kwant_suite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kwant_suite_accepts_only_listed_skips():
    suite = _kwant_suite()
    skips = [("kwant/tests/test_qsymm.py", "could not import 'qsymm': No module named 'qsymm'"),
             ("kwant/tests/test_plotter.py::test_plotly_plot", "Plotly unavailable."),
             ("kwant/linalg/tests/test_mumps.py::test_lu", "MUMPS not installed"),
             ("kwant/continuum", "could not import 'sympy'")]
    accepted, unexpected = suite.classify_skips(skips, mumps=True)
    assert [a[0] for a in accepted] == [skips[0][0], skips[1][0]]
    assert unexpected == skips[2:]  # MUMPS is linked: its tests must run; sympy is installed
    accepted, unexpected = suite.classify_skips(skips, mumps=False)
    assert unexpected == skips[3:]


# Kwant's plotter warns at its first import that plotly, its other engine, is absent.
@pytest.mark.filterwarnings("ignore:plotly is not available:RuntimeWarning")
def test_plot_2d_bands_of_our_bulk_writes_png(tmp_path):
    """Kwant's own 2D band plot works on our wrapped-around Ising BdG bulk (patch 0002)."""
    import kwant

    from latticemirage import bulk, model
    from latticemirage.mapping import PhysicalParameters, map_to_lattice

    fsyst = bulk.wrapped_system()
    mapping = map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0), fsyst=fsyst)
    q = np.linspace(-0.6, 0.6, 9)
    out = tmp_path / "bands.png"
    kwant.wraparound.plot_2d_bands(fsyst, k_x=model.VALLEY_K[0] + q, k_y=model.VALLEY_K[1] + q,
                                   params=mapping.params, file=str(out), show=False)
    assert_png(out)


def test_spectrum_cli_writes_plots(tmp_path):
    zoom = tmp_path / "zoom.npz"
    code = main(["lattice", "spectrum", "--n-points", "101", "--output", str(zoom),
                 "--plot", str(tmp_path / "zoom.png"), "--kwant-plot", str(tmp_path / "kw.png"),
                 "--kwant-points", "9"])
    assert code == 0
    assert_png(tmp_path / "zoom.png")
    assert_png(tmp_path / "kw.png")
    code = main(["lattice", "spectrum", "--kind", "path", "--n-points", "60",
                 "--output", str(tmp_path / "path.csv"), "--plot", str(tmp_path / "path.png")])
    assert code == 0
    assert_png(tmp_path / "path.png")


@pytest.mark.parametrize(
    ("args", "option"),
    [(["--plot", "bands.jpg"], "plot"), (["--kwant-plot", "bands"], "kwant-plot"),
     (["--kwant-points", "1", "--kwant-plot", "k.png"], "kwant-points")],
)
def test_spectrum_cli_bad_plot_options_exit_2(tmp_path, monkeypatch, capsys, args, option):
    monkeypatch.chdir(tmp_path)
    assert main(["lattice", "spectrum", "--output", "zoom.csv", *args]) == 2
    assert list(tmp_path.iterdir()) == []
    assert f"error: {option}:" in capsys.readouterr().err


def test_fig1b_writes_its_three_figures(tmp_path):
    assert main(["figure", "fig1b", "--output-dir", str(tmp_path)]) == 0
    for name in ("fig1b_zoom.png", "bands_path.png", "bands_kwant_valleys.png"):
        assert_png(tmp_path / name)
    assert (tmp_path / "fig1b_zoom.csv").stat().st_size > 0
