"""The one-command figure scripts run end to end (coarse grid) and refuse bad output names."""

import pytest

from comparisons import fig1c, fig2


@pytest.mark.parametrize("module", [fig1c, fig2])
def test_figure_script_writes_a_png(tmp_path, module):
    out = tmp_path / "figure.png"
    assert module.main(["--output", str(out), "--points", "401"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("module", [fig1c, fig2])
def test_figure_script_bad_output(tmp_path, capsys, module):
    assert module.main(["--output", str(tmp_path / "figure.pdf")]) == 2
    assert "output: must end in .png" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_fig2_takes_the_gamma_list(tmp_path, capsys):
    out = tmp_path / "figure.png"
    assert fig2.main(["--output", str(out), "--points", "401", "--gammas", "0.5,3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["Gamma=0.5", "Gamma=3"]


@pytest.mark.parametrize("text", ["0,-1", "a,b", "nan"])
def test_fig2_bad_gamma_list(tmp_path, capsys, text):
    assert fig2.main(["--output", str(tmp_path / "f.png"), "--gammas", text]) == 2
    assert "gammas: " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
