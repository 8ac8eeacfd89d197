"""One value-list syntax for every command: START:STOP:NUM, a comma list, or one number."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage_cli.main import main
from mirage_cli.options import ABSURD, parse_range, parse_values
from mirage_common.errors import ParameterError
from mirage_common.io import read_table

_finite = st.floats(-ABSURD, ABSURD, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(_finite, min_size=1, max_size=20))
def test_a_comma_list_is_its_values_in_order(values):
    text = ",".join(repr(v) for v in values)
    np.testing.assert_array_equal(parse_values("field", text), np.array(values))


def test_the_three_forms_and_the_old_name():
    np.testing.assert_array_equal(parse_values("field", "0:2:3"), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(parse_values("field", "0,1,2"), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(parse_values("field", "2"), [2.0])
    assert parse_range is parse_values


@pytest.mark.parametrize(
    "text", ["1,,2", "1,", "0:1", "0:1:2:3", "1:2,3", "0,nan", "0,1e7", "-1,1"]
)
def test_bad_lists_name_the_option(text):
    with pytest.raises(ParameterError) as info:
        parse_values("field", text, low=0.0)
    assert info.value.name == "field"


def test_open_bounds():
    # --widths of `mirage figure fig2_lattice`: W in (0, 3) t, both ends excluded.
    np.testing.assert_array_equal(
        parse_values("widths", "0.5,2.5", low=0, high=3, low_open=True, high_open=True), [0.5, 2.5]
    )
    for text in ("0,1", "1,3"):
        with pytest.raises(ParameterError, match="widths"):
            parse_values("widths", text, low=0, high=3, low_open=True, high_open=True)


def test_qc_field_takes_a_comma_list_like_lattice(tmp_path):
    """``mirage qc gap --field 0,3`` is the sweep ``--field 0:3:2`` (the same file)."""
    tables = []
    for field in ("0,3", "0:3:2"):
        out = tmp_path / f"gap{len(tables)}.csv"
        assert (
            main(
                [
                    "qc",
                    "gap",
                    "--beta",
                    "7",
                    "--field",
                    field,
                    "--temperature",
                    "0.5",
                    "--output",
                    str(out),
                ]
            )
            == 0
        )
        tables.append(read_table(out))
    (cols_list, meta_list), (cols_range, meta_range) = tables
    assert meta_list == meta_range
    assert cols_list.keys() == cols_range.keys()
    for name in cols_list:
        np.testing.assert_array_equal(cols_list[name], cols_range[name])
    np.testing.assert_array_equal(cols_list["field"], [0.0, 3.0])


def test_qc_gap_refuses_two_swept_lists(tmp_path, capsys):
    out = tmp_path / "gap.csv"
    assert (
        main(
            [
                "qc",
                "gap",
                "--beta",
                "7",
                "--field",
                "0,1",
                "--temperature",
                "0.2,0.5",
                "--output",
                str(out),
            ]
        )
        == 2
    )
    assert "only one of --field, --temperature, --gamma" in capsys.readouterr().err
    assert not out.exists()
