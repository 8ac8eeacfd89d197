"""Topic pages: every ``docs/topics/*.md`` and every stray top-level ``docs/*.md``.

``topics/index.md`` has a glob toctree over ``topics/``; the other engineers' pages are
meant to go there. Pages written as ``docs/<topic>.md`` (the top level) are not lost
either: this extension appends them to the same toctree when ``topics/index`` is read.
The site's own top-level pages (``core_pages`` in conf.py) are never listed, so no page
sits in two toctrees.
"""

from pathlib import Path

__all__ = ["setup", "stray_pages"]


def stray_pages(srcdir, core_pages):
    """Top-level ``*.md`` documents of *srcdir* that are not in *core_pages*, sorted."""
    return sorted(p.stem for p in Path(srcdir).glob("*.md")
                  if p.stem not in set(core_pages) and p.name != "README.md")


def _source_read(app, docname, source):
    if docname != "topics/index":
        return
    pages = stray_pages(app.srcdir, app.config.core_pages)
    if pages:
        entries = "\n".join(f"/{p}" for p in pages)
        source[0] += f"\n\n```{{toctree}}\n:maxdepth: 1\n\n{entries}\n```\n"


def setup(app):
    app.add_config_value("core_pages", [], "env")
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
