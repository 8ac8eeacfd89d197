#!/usr/bin/env bash
# Create or reuse the project-local virtual environment (.venv), build Kwant from
# its PyPI source distribution against NumPy 2 with our patch set applied (once;
# the wheel is cached), and install this project in editable mode with its test
# extras.
#
# Kwant: the release named in tools/kwant-patches/series ("# target:") is built
# from its sdist with Cython 3, after applying the patches listed there, which
# make Kwant's own test suite pass with the NumPy, SciPy and matplotlib we
# install (tools/kwant-patches/README.md lists each one and why). The wheel's
# version carries a local label, e.g. 1.5.0+mirage.<patch-set hash>.mumps, so a
# cached or installed Kwant built without the current patch set (or without
# MUMPS when MUMPS is now available) is detected and rebuilt, with a message.
# If PyPI offers a Kwant release newer than the target, that release is installed
# as published and the patch set (written for the target) is not used.
#
# MUMPS: when Kwant could not link MUMPS and this runs as root on Debian/Ubuntu,
# libmumps-seq-dev is installed with apt-get (non-interactive); if that fails the
# build continues without MUMPS and says so.
#
# Environment knobs (all optional):
#   PYTHON              interpreter to create the venv with (default: python3)
#   MIRAGE_VENV         venv location (default: <repo>/.venv)
#   MIRAGE_WHEEL_CACHE  where built Kwant wheels are kept
#                       (default: ${XDG_CACHE_HOME:-~/.cache}/latticemirage/wheels)
#   MIRAGE_NO_APT=1     never call apt-get (build without MUMPS if it is missing, no browser)
#   MIRAGE_NO_BROWSER=1 do not install Chromium (tests/test_docs.py then skips locally and
#                       fails under CI=true, where the rendered site must be checked)
#
# Browser: tests/test_docs.py opens the built documentation in a headless Chromium driven
# by chromedriver (Debian: chromium, chromium-driver); when they are missing and this runs
# as root on Debian/Ubuntu, they are installed with apt-get like MUMPS.
#
# `bash tools/bootstrap.sh --patch-hash` prints the patch-set hash and exits;
# `bash tools/bootstrap.sh --wheel-status WHEEL mumps|nomumps` prints why a cached wheel of
# that file name is stale under that MUMPS state ("current" if it is not) and exits.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
patches=$here/tools/kwant-patches
venv=${MIRAGE_VENV:-$here/.venv}
# Absolute: the Kwant build runs `$venv/bin/python` from inside the unpacked sdist.
case $venv in /*) ;; *) venv="$PWD/$venv" ;; esac
cache=${MIRAGE_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/latticemirage/wheels}
py=${PYTHON:-python3}

say() { printf '[bootstrap] %s\n' "$*" >&2; }

# The patch files named in the series file, in order (comments and blank lines dropped).
patch_list() { sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$patches/series" | grep -v '^$' || true; }
# sha256 of the series file followed by each listed patch, first 12 hex digits; the same
# bytes are hashed by comparisons.kwant_build.patch_set_hash (mirage doctor).
patch_hash() {
    { cat "$patches/series"; for p in $(patch_list); do cat "$patches/$p"; done; } \
        | sha256sum | cut -c1-12
}

if [ "${1-}" = "--patch-hash" ]; then
    patch_hash
    exit 0
fi

KWANT_VERSION=$(sed -n 's/^# target: *//p' "$patches/series")
[ -n "$KWANT_VERSION" ] || { say "no '# target:' line in $patches/series"; exit 1; }

# Why the cached wheel named $1 (kwant-<version>-<tags>.whl) cannot be used when MUMPS is
# $2 (mumps|nomumps): empty if it is the build of the current patch set and MUMPS state.
wheel_staleness() {
    local v h
    v=$(basename "$1" | cut -d- -f2)
    h=$(patch_hash)
    case $v in
        "$KWANT_VERSION+mirage.$h.$2") ;;
        "$KWANT_VERSION+mirage.$h.nomumps") echo "built without MUMPS, which is now available" ;;
        "$KWANT_VERSION+mirage.$h.mumps") echo "built with MUMPS, which cannot be linked now" ;;
        *+mirage.*) v=${v#*+mirage.}; echo "built with another patch set, ${v%.*}; current $h" ;;
        *) echo "built WITHOUT the patch set tools/kwant-patches" ;;
    esac
}

if [ "${1-}" = "--wheel-status" ]; then
    why=$(wheel_staleness "$2" "$3")
    echo "${why:-current}"
    exit 0
fi

"$py" - <<'PYEOF' || { say "Python >= 3.11 is required (found $("$py" --version 2>&1))"; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PYEOF

# Whether Kwant's setup.py will link MUMPS: the same library sets and the same lookup
# (ctypes.util.find_library) as its search_mumps().
mumps_linkable() {
    "$py" - <<'PYEOF'
import sys
from ctypes.util import find_library
sets = [["zmumps_scotch", "mumps_common_scotch", "mpiseq_scotch", "pord", "gfortran"],
        ["zmumps_seq", "mumps_common_seq"]]
sys.exit(0 if any(all(find_library(lib) for lib in libs) for libs in sets) else 1)
PYEOF
}

if [ ! -x "$venv/bin/python" ]; then
    say "creating virtual environment in $venv"
    "$py" -m venv "$venv"
fi
vpy="$venv/bin/python"
pip() { "$vpy" -m pip --disable-pip-version-check -q "$@"; }
installed_kwant() { "$vpy" -c "import importlib.metadata as m; print(m.version('kwant'))" 2>/dev/null || true; }

mumps_state=nomumps
if mumps_linkable; then mumps_state=mumps; fi
hash=$(patch_hash)

# --- Browser for the docs test (before the up-to-date exit: a cheap check every time) -----
browser_present() { command -v chromedriver >/dev/null && { command -v chromium >/dev/null \
    || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; }; }
if ! browser_present && [ "${MIRAGE_NO_BROWSER:-0}" != 1 ]; then
    if [ "$(id -u)" = 0 ] && [ "${MIRAGE_NO_APT:-0}" != 1 ] && command -v apt-get >/dev/null; then
        say "installing chromium and chromium-driver with apt-get (headless browser of tests/test_docs.py)"
        aptlog=$(mktemp)
        browser_install() {
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                chromium chromium-driver </dev/null
        }
        if { browser_install || { apt-get update -q </dev/null && browser_install; }; } \
                >"$aptlog" 2>&1 && browser_present; then
            say "chromium installed"
        else
            tail -n 5 "$aptlog" | sed 's/^/[bootstrap] apt-get: /' >&2
            say "could not install chromium: tests/test_docs.py will skip (fail under CI=true)"
        fi
        rm -f "$aptlog"
    else
        say "no chromium/chromedriver: tests/test_docs.py will skip (fail under CI=true);"
        say "Debian: apt-get install chromium chromium-driver"
    fi
fi

stamp="$venv/.mirage-installed"
want=$({ cat "$here/pyproject.toml" "$here/tools/bootstrap.sh"; echo "$hash $mumps_state"; } \
    | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$vpy" -c "import kwant, latticemirage" 2>/dev/null; then
    exit 0   # up to date: nothing to do
fi

# --- MUMPS -------------------------------------------------------------------------------
if [ "$mumps_state" = nomumps ]; then
    if [ "$(id -u)" = 0 ] && [ "${MIRAGE_NO_APT:-0}" != 1 ] && command -v apt-get >/dev/null; then
        say "MUMPS not found: installing libmumps-seq-dev with apt-get (Kwant's sparse solver)"
        aptlog=$(mktemp)
        apt_install() {
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                libmumps-seq-dev </dev/null
        }
        # A fresh machine may have no package lists yet: update once, then retry.
        if { apt_install || { apt-get update -q </dev/null && apt_install; }; } >"$aptlog" 2>&1 \
                && mumps_linkable; then
            mumps_state=mumps
            say "libmumps-seq-dev installed"
        else
            tail -n 5 "$aptlog" | sed 's/^/[bootstrap] apt-get: /' >&2
            say "could not install libmumps-seq-dev: continuing WITHOUT MUMPS"
        fi
        rm -f "$aptlog"
    fi
    if [ "$mumps_state" = nomumps ]; then
        say "Kwant is built without MUMPS (Debian: libmumps-seq-dev): its transport solvers fall"
        say "back to SciPy and Kwant's MUMPS tests skip; latticemirage itself does not need it."
    fi
fi

# Download the sdist, apply the patch set, build; sets $wheel to the cached wheel.
build_kwant() {
    # Kwant's sdist ships C files generated for NumPy 1.x; regenerating them with
    # Cython >= 3 against NumPy 2 is what makes it build.
    say "building Kwant $wanted from source against NumPy 2 (about 2 minutes, once)"
    command -v git >/dev/null || { say "git is needed to apply tools/kwant-patches"; exit 1; }
    # Kwant cimports SciPy's LAPACK declarations (scipy.linalg.cython_lapack) at build time.
    pip install "numpy>=2" "cython>=3" "setuptools>=68" wheel scipy
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    pip download --no-deps --no-binary :all: -d "$work" "kwant==$KWANT_VERSION"
    tar -xzf "$work"/kwant-"$KWANT_VERSION".tar.gz -C "$work"
    src="$work/kwant-$KWANT_VERSION"
    for p in $(patch_list); do
        # git apply: all-or-nothing, no fuzz; the ceiling keeps git from treating an
        # enclosing repository as the one to patch.
        GIT_CEILING_DIRECTORIES="$work" git -C "$src" apply --whitespace=nowarn "$patches/$p" \
            || { say "patch $p does not apply to Kwant $KWANT_VERSION"; exit 1; }
    done
    say "applied $(patch_list | wc -l) patches from tools/kwant-patches (set $hash)"
    # The version (and so the wheel's name and kwant.__version__) names the patch set.
    printf "# This file has been created by tools/bootstrap.sh.\nversion = '%s'\n" \
        "$wanted" >"$src/kwant/_kwant_version.py"
    (cd "$src" && "$vpy" setup.py --cython bdist_wheel >"$work/build.log" 2>&1) \
        || { tail -n 40 "$work/build.log" >&2; say "Kwant build failed"; exit 1; }
    built=$(ls "$src"/dist/kwant-*.whl)
    linked=$("$vpy" -c 'import sys, zipfile; n = zipfile.ZipFile(sys.argv[1]).namelist(); print("mumps" if any(x.startswith("kwant/linalg/_mumps") for x in n) else "nomumps")' "$built")
    if [ "$linked" != "$mumps_state" ]; then
        grep -E 'MUMPS' "$work/build.log" | sed 's/^/[bootstrap] kwant build: /' >&2 || true
        say "Kwant build: MUMPS expected '$mumps_state', wheel has '$linked'"
        exit 1
    fi
    say "Kwant built ($linked)"
    cp "$built" "$cache/.$(basename "$built").tmp"
    mv "$cache/.$(basename "$built").tmp" "$cache/$(basename "$built")"
    wheel="$cache/$(basename "$built")"
}

# --- Kwant ---------------------------------------------------------------------------------
# A newer Kwant release than the patch set's target makes the patch set drop away.
release_newer() {  # release_newer A B: A > B for plain N.N.N release numbers
    "$py" -c 'import sys; v = [tuple(map(int, a.split("."))) for a in sys.argv[1:]]; sys.exit(v[0] <= v[1])' \
        "$1" "$2" 2>/dev/null
}
latest=$("$vpy" -m pip --disable-pip-version-check index versions kwant 2>/dev/null \
    | sed -n 's/^kwant (\(.*\))$/\1/p' | head -n1 || true)
use_release=
if [ -n "$latest" ] && release_newer "$latest" "$KWANT_VERSION"; then
    use_release=$latest
fi

have=$(installed_kwant)
if [ -n "$use_release" ]; then
    say "Kwant $use_release is on PyPI (the patch set targets $KWANT_VERSION): installing it as released"
    if [ "$have" != "$use_release" ]; then
        [ -z "$have" ] || pip uninstall -y kwant
        if ! pip install "kwant==$use_release"; then
            say "installing Kwant $use_release failed; building the patched $KWANT_VERSION instead"
            use_release=
        fi
    fi
fi

if [ -z "$use_release" ]; then
    wanted="$KWANT_VERSION+mirage.$hash.$mumps_state"
    pytag=$("$vpy" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
    if [ "$have" = "$wanted" ]; then
        say "Kwant $wanted (patched) is installed"
    else
        mkdir -p "$cache"
        wheel=
        # Cached wheels of the target release for this Python: use the one with the current
        # patch set and MUMPS state; any other is stale and removed, with the reason.
        for w in "$cache"/kwant-"$KWANT_VERSION"*-"$pytag"-*.whl; do
            [ -e "$w" ] || continue
            why=$(wheel_staleness "$w" "$mumps_state")
            if [ -z "$why" ]; then
                wheel=$w
                continue
            fi
            say "cached Kwant wheel $(basename "$w") is stale ($why): removing it"
            rm -f "$w"
        done
        if [ -n "$wheel" ]; then
            say "using cached Kwant wheel $wheel"
        else
            build_kwant
        fi
        if [ -n "$have" ]; then
            say "replacing the installed Kwant $have by $wanted"
            pip uninstall -y kwant
        fi
        pip install "$wheel"
    fi
fi

say "installing latticemirage (editable) with test and docs extras"
pip install -e "$here[test,docs]"
echo "$want" >"$stamp"
say "environment ready: $venv (Kwant $(installed_kwant))"
