"""The curated public API at each package root, and the old import paths kept as aliases."""

import subprocess
import sys

import pytest

import comparisons
import latticemirage
import mirage_common
import quasiclassical

PACKAGES = (latticemirage, quasiclassical, comparisons, mirage_common)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_public_name_resolves_to_its_module_object(package):
    assert len(set(package.__all__)) == len(package.__all__)
    for name in package.__all__:
        obj = getattr(package, name)
        home = getattr(obj, "__module__", None)
        if home is not None:  # classes and functions: defined inside the package's modules
            assert home.split(".")[0] in (package.__name__, "mirage_common"), (name, home)
    assert set(package.__all__) <= set(dir(package))


@pytest.mark.parametrize("package", (latticemirage, comparisons), ids=lambda p: p.__name__)
def test_unknown_names_still_raise_attribute_error(package):
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        package.no_such_name  # noqa: B018


def test_lazy_roots_do_not_load_kwant():
    # `mirage qc` goes through the mirage_cli package and the lattice CLI parser through
    # latticemirage: none of these roots may load Kwant.
    code = ("import sys, comparisons, latticemirage, mirage_cli, mirage_cli.lattice\n"
            "print('kwant' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "False"
    assert latticemirage.GapSolver is __import__("latticemirage.gap").gap.GapSolver


def test_old_import_paths_are_aliases():
    from latticemirage import _modematch, transport
    from latticemirage.disorder import validity
    from mirage_common import formulas, mirage

    assert mirage.__all__ == formulas.__all__
    for name in formulas.__all__:
        assert getattr(mirage, name) is getattr(formulas, name)
    assert validity._local_green is validity.local_green
    assert transport.check_mode_count is _modematch.check_mode_count
