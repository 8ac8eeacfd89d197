"""`latticemirage.conductance.conductance_map`: the library function behind ``mirage lattice
conductance`` gives exactly what the command writes, checks before it computes, and does
not depend on the executor."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from latticemirage import estimates, transport
from latticemirage.conductance import (
    COLUMNS,
    PAD_KT,
    STEP_KT,
    ConductanceMap,
    conductance_map,
)
from latticemirage.mapping import PhysicalParameters, tc0_over_delta0
from mirage_cli.main import main
from mirage_common.errors import ParameterError
from mirage_common.io import jsonable, read_table

# A cheap junction: tunnel barrier, 2 transverse momenta, 3 biases.
SMALL = {"emin": -2.0, "emax": 2.0, "points": 3, "barrier": 3.0, "n_k": 2}


def _as_written(meta):
    """Metadata as the result file holds it (NumPy -> JSON types)."""
    return json.loads(json.dumps(jsonable(meta)))


@pytest.mark.parametrize(
    "cli, kwargs",
    [
        # Field sweep at T > 0: the fine grid, smearing and interpolation.
        (
            ["--field", "0,2", "--delta", "1", "--temperature", "0.2"],
            {"fields": [0.0, 2.0], "delta": 1.0, "temperature": 0.2},
        ),
        # Ferromagnetic lead, angle sweep at one field.
        (
            [
                "--field",
                "2",
                "--delta",
                "0.8",
                "--exchange",
                "0.075",
                "--exchange-angle=0:1.5:2,0.3",
            ],
            {
                "fields": [2.0],
                "delta": 0.8,
                "exchange": 0.075,
                "directions": [(0.0, 0.3), (1.5, 0.3)],
            },
        ),
    ],
)
def test_library_map_is_what_the_command_writes(tmp_path, cli, kwargs):
    out = tmp_path / "g.npz"  # .npz: the floats exactly as computed
    assert (
        main(
            [
                "lattice",
                "conductance",
                "--beta",
                "7",
                "--barrier",
                "3",
                "--emin",
                "-2",
                "--emax",
                "2",
                "--points",
                "3",
                "--n-k",
                "2",
                *cli,
                "--output",
                str(out),
            ]
        )
        == 0
    )
    cols, meta = read_table(out)
    kwargs = dict(kwargs)
    fields = kwargs.pop("fields")
    phys = PhysicalParameters(
        beta=7.0,
        field=fields[0],
        delta=kwargs.pop("delta"),
        temperature=kwargs.pop("temperature", 0.0),
    )
    result = conductance_map(phys, fields, **SMALL, **kwargs)
    assert isinstance(result, ConductanceMap)
    assert list(cols) == list(result.columns)  # same columns in the same order
    for name, values in result.columns.items():
        np.testing.assert_array_equal(cols[name], values, err_msg=name)
    meta.pop("version")
    assert meta == _as_written(result.metadata)
    n_curves = len(kwargs.get("directions", fields))
    assert len(result.curves) == n_curves and set(result.curves[0]) == set(COLUMNS)
    np.testing.assert_array_equal(result.curve_fields, np.resize(fields, n_curves))


def test_executor_does_not_change_the_map():
    phys = PhysicalParameters(beta=7.0, field=2.0, delta=1.0, temperature=0.1)
    serial = conductance_map(phys, [2.0], **SMALL)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the futures path, one worker
        pooled = conductance_map(phys, [2.0], **SMALL, executor=pool)
    for name, values in serial.columns.items():
        np.testing.assert_array_equal(pooled.columns[name], values, err_msg=name)


def test_check_sees_the_estimate_before_anything_is_solved(monkeypatch):
    def solve(*args, **kwargs):
        raise AssertionError("solved before the check refused")

    class Refused(Exception):
        pass

    seen = []

    def refuse(estimate):
        seen.append(estimate)
        raise Refused

    monkeypatch.setattr(transport, "ns_conductance", solve)
    # delta=None: self-consistent, so the gap mesh enters the estimate.
    phys = PhysicalParameters(beta=7.0, field=2.0, delta=None, temperature=0.1)
    with pytest.raises(Refused):
        conductance_map(phys, [0.0, 2.0], **SMALL, gap_mesh=300, check=refuse)
    n_grid, option = estimates.conductance_grid_size(
        -2.0, 2.0, 3, 0.1 * tc0_over_delta0(), step_kt=STEP_KT, pad_kt=PAD_KT
    )
    assert option == "temperature"  # k_B T / 4 < the 2 Δ0 spacing
    assert seen == [
        estimates.conductance(n_grid, 2, 2, 1, smeared=True, energy_option=option, gap_mesh=300)
    ]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"directions": [(0.0, 0.0), (1.0, 0.0)], "fields": [0.0, 2.0]}, "directions"),
        ({"directions": [(1.0, 0.0)], "spin_axis": "x"}, "directions"),
        ({"directions": []}, "directions"),
        ({"points": 1}, "points"),
        ({"emin": 1.0, "emax": 0.0}, "emax"),
        ({"emax": 15.0}, "emax"),  # E_F/2 = 15 Δ0 at the default mapping
    ],
)
def test_bad_parameters_are_refused_by_name_before_any_solve(monkeypatch, kwargs, name):
    def solve(*args, **kw):
        raise AssertionError("solved before the parameters were checked")

    monkeypatch.setattr(transport, "ns_conductance", solve)
    kwargs = {**SMALL, "fields": [2.0], **kwargs}
    fields = kwargs.pop("fields")
    with pytest.raises(ParameterError) as info:
        conductance_map(PhysicalParameters(beta=7.0, field=2.0, delta=1.0), fields, **kwargs)
    assert info.value.name == name
