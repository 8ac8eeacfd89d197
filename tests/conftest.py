"""Fixtures shared by the test modules (module scope: each module builds its own, as before)."""

import pytest

from latticemirage import bulk
from latticemirage.mapping import PhysicalParameters, map_to_lattice


@pytest.fixture(scope="module")
def fsyst():
    """The wrapped (k-space) Kwant system of the lattice model."""
    return bulk.wrapped_system()


@pytest.fixture(scope="module")
def paper(fsyst):
    """The paper's Fig. 1(b,c) point: β = 7, B = 2, Δ = 1 (Δ0 units), default mapping
    (E_F = 30 Δ0)."""
    return map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0), fsyst=fsyst)
