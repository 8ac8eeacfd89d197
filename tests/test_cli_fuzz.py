"""Generated hostile calls over every option of every ``mirage`` parser (issue #26).

Hypothesis draws, for each leaf command, a few options with values from a pool of hostile
and ordinary text (non-finite and absurd numbers, zero, negative, malformed ranges, paths
into a file, a read-only folder, a folder that exists) and asserts what every call must
satisfy:

- the exit code is 0 or 2 (a call that passes validation reaches a computation, which is
  replaced here by a stub that stops it: the input was accepted);
- no traceback, and on exit 2 one ``mirage: error:`` line;
- on exit 2 nothing is left behind in the test's folder;
- each call returns within `CALL_SECONDS` (the estimates and validation are cheap; a
  call that starts allocating or computing would not be).

The profile is derandomized (the same examples on every run, no example database), so a
failure in CI reproduces locally. ``mirage fit`` (its inputs are measured spectra, covered
by tests/test_fit_input.py) is left out.
"""

import argparse
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirage_cli.main import build_parser, leaf_parsers, main

# On the 2-core reference machine a refused call takes ~0.01-0.5 s (the first one imports
# Kwant, ~3 s); a call that allocates or solves anything takes far longer.
CALL_SECONDS = 20.0
_EXAMPLES = 15  # per command: 14 commands x 15 calls, the module in ~40 s

_SKIP_COMMANDS = ("mirage fit", "mirage doctor")
_SKIP_OPTIONS = {"--help", "--debug", "--version"}

_NUMBERS = [
    "0",
    "1",
    "-1",
    "2",
    "0.5",
    "3",
    "1e-9",
    "1e9",
    "1000000000",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "",
    "abc",
    "0x10",
    "1,5",
    "0:1:3",
    "1:0:0",
    "0:6:1e9",
    "0,nan",
    "-3.14:3.14:5",
]
_PATHS = [
    "{d}/out.csv",
    "{d}/out.json",
    "{d}/out.png",
    "{d}/afile/x.csv",
    "{d}/ro/x.csv",
    "{d}/dir.csv",
    "{d}/out.txt",
    "{d}/afile",
    "{d}/ro",
    "{d}/nonempty",
    "",
]
_PATH_OPTIONS = {"--output", "-o", "--plot", "--kwant-plot", "--current", "--status", "--scheduler"}


def _commands():
    parser = build_parser(["--help"])
    return {
        leaf.prog: leaf
        for leaf in leaf_parsers(parser)
        if leaf.add_help and leaf.prog not in _SKIP_COMMANDS
    }


COMMANDS = _commands()


def _option_strategy(action):
    """(option, value or None) draws for one argparse action."""
    name = max(action.option_strings, key=len)
    if action.nargs == 0:  # store_true flags
        return st.just((name, None))
    if action.choices:
        values = st.sampled_from([*map(str, action.choices), "nonsense"])
    elif name in _PATH_OPTIONS:
        values = st.sampled_from(_PATHS)
    else:
        values = st.sampled_from(_NUMBERS)
    return values.map(lambda v: (name, v))


def _argv_strategy(prog):
    leaf = COMMANDS[prog]
    actions = [
        a
        for a in leaf._actions
        if a.option_strings
        and not set(a.option_strings) & _SKIP_OPTIONS
        and a.help is not argparse.SUPPRESS
    ]
    words = prog.split()[1:]
    # Always an output in the test folder (a command that needs one then gets past that
    # check) and a tiny memory limit, so that an accepted size is refused by its estimate
    # rather than computed; the drawn options come after and may override both.
    base = [*words, "--memory-limit", "0.05"]
    if any("--output" in a.option_strings for a in actions):
        base += [
            "--output",
            "{d}/base"
            + (
                ".json"
                if prog.endswith("rates")
                else ""
                if prog.endswith(("disorder", "validate"))
                else ".csv"
            ),
        ]
    return st.lists(st.sampled_from(actions).flatmap(_option_strategy), min_size=1, max_size=4).map(
        lambda pairs: (
            base
            + [
                w
                for name, value in pairs
                for w in ([name] if value is None else [f"{name}={value}"])
            ]
        )
    )


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("prog", sorted(COMMANDS))
def test_generated_calls_exit_0_or_2_cleanly(prog, hostile_dir, no_computing, capsys):
    from conftest import _Computing

    @settings(
        max_examples=_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(argv=_argv_strategy(prog))
    def run(argv):
        argv = [a.format(d=hostile_dir) for a in argv]
        before = _tree(hostile_dir)
        start = time.perf_counter()
        try:
            code = main(argv)
        except _Computing:
            code = 0  # accepted: it reached the (stubbed) computation
        elapsed = time.perf_counter() - start
        err = capsys.readouterr().err
        assert code in (0, 2), (argv, code, err)
        assert "Traceback" not in err, (argv, err)
        assert elapsed < CALL_SECONDS, (argv, elapsed)
        if code == 2:
            assert sum(line.startswith("mirage: error:") for line in err.splitlines()) == 1, (
                argv,
                err,
            )
            assert _tree(hostile_dir) == before, argv
        else:  # remove what an accepted call made (the stub stops before any result file)
            for path in sorted(hostile_dir.rglob("*"), reverse=True):
                if str(path.relative_to(hostile_dir)) not in before:
                    path.rmdir() if path.is_dir() else path.unlink()

    run()
