"""``mirage lattice rates``: the measured rates from the command line, reproducible from the API."""

import json

import pytest

from latticemirage.disorder import rates
from latticemirage.disorder.potentials import PointImpurities
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_cli.main import main

ARGS = ["lattice", "rates", "--kind", "point", "--concentration", "0.05", "--strength", "0.5",
        "--beta", "3", "--e-fermi", "10", "--delta0-t", "0.03", "--size", "40",
        "--realizations", "3", "--seed", "7", "--eta", "0.5"]


def test_rates_command_equals_the_api_and_writes_json(tmp_path, capsys):
    out = tmp_path / "rates.json"
    assert main([*ARGS, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Γ_qc = 2 Γ_inter" in printed and "Born Γ_tot" in printed
    data = json.loads(out.read_text())
    assert {"version", "disorder", "numerics", "mapping", "rates_delta0", "rates_t"} <= set(data)
    # Same seed, same numbers: the command is the API plus units.
    mapping = map_to_lattice(PhysicalParameters(beta=3, e_fermi=10, delta0=0.03))
    direct = rates.measure_rates(mapping.lattice_params(0.0), PointImpurities(0.05, 0.5), 40, 3,
                                 7, eta=0.5 * 0.03).in_units(0.03)
    got = data["rates_delta0"]
    # Identical computation; rel 1e-12 only absorbs the JSON float round trip.
    for key in ("gamma_total", "gamma_inter", "gamma_qc", "born_total", "inter_fraction"):
        assert got[key] == pytest.approx(direct[key], rel=1e-12), key
    assert got["gamma_qc"] == pytest.approx(2 * got["gamma_inter"])
    # The removed uniform shift is reported: ~ n_i V = 0.025 t = 0.83 Δ0 (binomial scatter
    # of the site average sqrt(n_i (1 - n_i) / L^2) V ~ 0.003 t per realization).
    assert "uniform shift removed" in printed
    assert got["uniform_shift"] == pytest.approx(direct["uniform_shift"], rel=1e-12)
    assert abs(data["rates_t"]["uniform_shift"] - 0.025) < 5 * 0.003


@pytest.mark.parametrize("change, name", [
    (["--strength", "-0.5", "--concentration", "2"], "concentration"),
    (["--eta", "0"], "eta"),
    (["--realizations", "1"], "realizations"),
    (["--width", "1"], "width"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, change, name):
    args = list(ARGS)
    for flag, value in zip(change[::2], change[1::2], strict=True):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    out = tmp_path / "rates.json"
    assert main([*args, "--output", str(out)]) == 2
    assert name in capsys.readouterr().err
    assert not out.exists()


def test_beta_window_beyond_the_pocket_is_refused(capsys):
    # A window reaching half the pocket depth (E_F/2 = 15 Δ0 by default) is no Fermi-level probe.
    from mirage_cli.main import main

    assert main(["lattice", "rates", "--kind", "anderson", "--width", "0.5",
                 "--beta-window", "20"]) == 2
    assert "beta-window" in capsys.readouterr().err
