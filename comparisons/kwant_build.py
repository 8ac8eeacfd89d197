"""Which Kwant is in use: the patched build of ``tools/bootstrap.sh`` or not, and MUMPS.

``tools/bootstrap.sh`` builds Kwant from its sdist after applying the patches listed in
``tools/kwant-patches/series`` and writes the patch set into the version:
``1.5.0+mirage.<hash>.mumps`` (``.nomumps`` when MUMPS could not be linked), where
``<hash>`` is `patch_set_hash`: the first 12 hex digits of the sha256 of the series
file followed by each listed patch, in order (``bash tools/bootstrap.sh --patch-hash``
prints the same). `kwant_build` compares the installed Kwant with that.
"""

import hashlib
import importlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PATCH_DIR", "KwantBuild", "kwant_build", "patch_list", "patch_set_hash",
           "patch_target"]

PATCH_DIR = Path(__file__).resolve().parents[1] / "tools" / "kwant-patches"
_LABEL = re.compile(r"^(?P<release>[0-9.]+)\+mirage\.(?P<hash>[0-9a-f]{12})\.(?P<mumps>no)?mumps$")


def patch_list(patch_dir=PATCH_DIR):
    """Patch file names listed in ``series``, in order (comments and blank lines dropped)."""
    text = (Path(patch_dir) / "series").read_text()
    return [line.split("#", 1)[0].strip() for line in text.splitlines()
            if line.split("#", 1)[0].strip()]


def patch_target(patch_dir=PATCH_DIR):
    """The Kwant release the patch set is written for (``# target:`` line of ``series``)."""
    for line in (Path(patch_dir) / "series").read_text().splitlines():
        if line.startswith("# target:"):
            return line.split(":", 1)[1].strip()
    raise ValueError(f"no '# target:' line in {Path(patch_dir) / 'series'}")


def patch_set_hash(patch_dir=PATCH_DIR):
    """Hash of the patch set, as written into the version of the patched Kwant build."""
    patch_dir = Path(patch_dir)
    h = hashlib.sha256((patch_dir / "series").read_bytes())
    for name in patch_list(patch_dir):
        h.update((patch_dir / name).read_bytes())
    return h.hexdigest()[:12]


def _release(version):
    try:
        return tuple(int(x) for x in version.split("+")[0].split("."))
    except ValueError:
        return None


@dataclass(frozen=True)
class KwantBuild:
    """What `kwant_build` found.

    Attributes
    ----------
    version : str
        ``kwant.__version__``.
    patched : bool
        The version carries the ``+mirage.<hash>`` label of a patched build.
    current : bool
        Patched with the patch set now in ``tools/kwant-patches`` (False if that
        folder is absent, e.g. in a non-editable install).
    mumps : bool
        ``kwant.linalg._mumps`` imports: Kwant links MUMPS.
    status : str
        One line for ``mirage doctor``.
    """

    version: str
    patched: bool
    current: bool
    mumps: bool
    status: str


def kwant_build(patch_dir=PATCH_DIR):
    """Inspect the installed Kwant; ImportError if Kwant cannot be imported."""
    with warnings.catch_warnings():
        # Kwant warns at import when it has no MUMPS; reported here as `mumps` instead.
        warnings.filterwarnings("ignore", message="MUMPS is not available", category=RuntimeWarning)
        import kwant
    try:
        importlib.import_module("kwant.linalg._mumps")
        mumps = True
    except ImportError:
        mumps = False
    version = kwant.__version__
    match = _LABEL.match(version)
    patch_dir = Path(patch_dir)
    have_patches = (patch_dir / "series").is_file()
    current_hash = patch_set_hash(patch_dir) if have_patches else None
    target = patch_target(patch_dir) if have_patches else None
    if match:
        current = match["hash"] == current_hash
        if current:
            status = f"patched build, current patch set {current_hash} (tools/kwant-patches)"
        elif current_hash is None:
            status = f"patched build, patch set {match['hash']} (tools/kwant-patches not found)"
        else:
            status = (f"patched build with an OLDER patch set {match['hash']} (current "
                      f"{current_hash}): run `make setup`")
    else:
        current = False
        newer = target is not None and (_release(version) or ()) > (_release(target) or ())
        if newer:
            status = (f"release {version} as published, newer than the patch set's target "
                      f"{target} (patches not needed)")
        else:
            status = ("NOT the patched build: Kwant 1.5.0 as released fails its own suite with "
                      "NumPy 2, SciPy >= 1.14, matplotlib >= 3.9; run `make setup`")
    return KwantBuild(version=version, patched=bool(match), current=current, mumps=mumps,
                      status=status)
