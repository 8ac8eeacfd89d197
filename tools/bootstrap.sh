#!/usr/bin/env bash
# Create or reuse the project-local virtual environment (.venv), build Kwant from
# its PyPI source distribution against NumPy 2 (once; the wheel is cached), and
# install this project in editable mode with its test extras.
#
# Environment knobs (all optional):
#   PYTHON              interpreter to create the venv with (default: python3)
#   MIRAGE_VENV         venv location (default: <repo>/.venv)
#   MIRAGE_WHEEL_CACHE  where built Kwant wheels are kept
#                       (default: ${XDG_CACHE_HOME:-~/.cache}/latticemirage/wheels)
set -euo pipefail

KWANT_VERSION=1.5.0
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${MIRAGE_VENV:-$here/.venv}
cache=${MIRAGE_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/latticemirage/wheels}
py=${PYTHON:-python3}

say() { printf '[bootstrap] %s\n' "$*" >&2; }

"$py" - <<'PYEOF' || { say "Python >= 3.11 is required (found $("$py" --version 2>&1))"; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PYEOF

if [ ! -x "$venv/bin/python" ]; then
    say "creating virtual environment in $venv"
    "$py" -m venv "$venv"
fi
vpy="$venv/bin/python"
pip() { "$vpy" -m pip --disable-pip-version-check -q "$@"; }

stamp="$venv/.mirage-installed"
want=$(cat "$here/pyproject.toml" "$here/tools/bootstrap.sh" | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$vpy" -c "import kwant, latticemirage" 2>/dev/null; then
    exit 0   # up to date: nothing to do
fi

if ! "$vpy" -c "import kwant" 2>/dev/null; then
    tag=$("$vpy" -c 'import sys, platform; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}")')
    mkdir -p "$cache"
    wheel=$(ls "$cache"/kwant-"$KWANT_VERSION"-*"${tag%%-*}"*linux_"${tag#*-}".whl 2>/dev/null | head -n1 || true)
    if [ -z "$wheel" ]; then
        # Kwant 1.5.0 ships only an sdist whose C files were generated for NumPy 1.x;
        # regenerating them with Cython >= 3 against NumPy 2 is what makes it build.
        say "building Kwant $KWANT_VERSION from source against NumPy 2 (about 2 minutes, once)"
        # Kwant cimports SciPy's LAPACK declarations (scipy.linalg.cython_lapack) at build time.
        pip install "numpy>=2" "cython>=3" "setuptools>=68" wheel scipy
        work=$(mktemp -d)
        trap 'rm -rf "$work"' EXIT
        pip download --no-deps --no-binary :all: -d "$work" "kwant==$KWANT_VERSION"
        tar -xzf "$work"/kwant-"$KWANT_VERSION".tar.gz -C "$work"
        if ldconfig -p 2>/dev/null | grep -q 'libzmumps_seq\|libzmumps_scotch'; then
            say "MUMPS found on the system: Kwant will link it"
        else
            say "MUMPS not found (Debian: libmumps-seq-dev); Kwant's transport solvers will use SciPy."
            say "latticemirage does not need MUMPS (it uses no transport solver)."
        fi
        (cd "$work/kwant-$KWANT_VERSION" && "$vpy" setup.py --cython bdist_wheel >"$work/build.log" 2>&1) \
            || { tail -n 40 "$work/build.log" >&2; say "Kwant build failed"; exit 1; }
        grep -E 'MUMPS' "$work/build.log" | sed 's/^/[bootstrap] kwant build: /' >&2 || true
        cp "$work/kwant-$KWANT_VERSION"/dist/kwant-*.whl "$cache/"
        wheel=$(ls "$cache"/kwant-"$KWANT_VERSION"-*.whl | head -n1)
    else
        say "using cached Kwant wheel $wheel"
    fi
    pip install "$wheel"
fi

say "installing latticemirage (editable) with test extras"
pip install -e "$here[test]"
echo "$want" >"$stamp"
say "environment ready: $venv"
