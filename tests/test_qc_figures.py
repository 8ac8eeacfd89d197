"""The one-command figures (``mirage figure NAME``) run end to end (coarse grid) and refuse
bad output names."""

import pytest

from mirage_cli.main import main


@pytest.mark.parametrize("name", ["fig1c", "fig2"])
def test_figure_script_writes_a_png(tmp_path, name):
    out = tmp_path / "figure.png"
    assert main(["figure", name, "--output", str(out), "--points", "401"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", ["fig1c", "fig2"])
def test_figure_script_bad_output(tmp_path, capsys, name):
    assert main(["figure", name, "--output", str(tmp_path / "figure.pdf")]) == 2
    assert "output: must end in .png" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_fig2_takes_the_gamma_list(tmp_path, capsys):
    out = tmp_path / "figure.png"
    assert main(["figure", "fig2", "--output", str(out), "--points", "401",
                 "--gammas", "0.5,3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["Gamma=0.5", "Gamma=3"]


@pytest.mark.parametrize("text", ["0,-1", "a,b", "nan"])
def test_fig2_bad_gamma_list(tmp_path, capsys, text):
    assert main(["figure", "fig2", "--output", str(tmp_path / "f.png"), "--gammas", text]) == 2
    assert "gammas: " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_fig_tunneling_writes_a_png(tmp_path, capsys):
    out = tmp_path / "figure.png"
    # Tiny grids (2 fields, 2 transverse momenta, the floor of 201 biases) at T = 0.5 T_c0,
    # where the lattice's k_B T/4 grid stays short.
    assert main(["figure", "fig_tunneling", "--output", str(out), "--points", "201",
                 "--fields", "0:2:2", "--n-k", "2", "--temperature", "0.5"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["B=0 Delta0", "B=2 Delta0"]


@pytest.mark.parametrize("extra, message", [
    (["--fields", "1:1:1"], "fields: a map needs at least 2 fields"),
    (["--units", "physical", "--material", "NbSe2"], "beta: must be small"),  # beta > E_F/3
    (["--units", "physical", "--fields", "0:10:2"], "tc-K: "),  # tesla without Delta0
    (["--material", "MoS2"], "material: only meaningful with --units physical"),
    (["--points", "100"], "points: must be >= 201"),
])
def test_fig_tunneling_bad_input(tmp_path, capsys, extra, message):
    assert main(["figure", "fig_tunneling", "--output", str(tmp_path / "f.png"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_fig_gap_map_refuses_a_map_that_cannot_fit(tmp_path, capsys):
    # 1000² at the default scale: ~38 800 shell states, the eigenvectors alone ~300 GB
    # (estimates.shell_gap); refused before the clean gap or any shell is computed.
    out = tmp_path / "map.png"
    assert main(["figure", "fig_gap_map", "--scale", "default", "--size", "1000",
                 "--twists", "none", "--memory-limit", "100", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "size: this run needs about" in err and "--memory-limit" in err
    assert list(tmp_path.iterdir()) == []
