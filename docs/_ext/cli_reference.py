"""Sphinx directive ``mirage-cli``: the command-line reference, generated from the parsers.

The directive walks the parser tree that ``mirage`` itself builds
(`mirage_cli.main.build_parser` with every side imported, as for ``mirage --help``) and
writes one section per command: its help line, description, usage, subcommands, and every
option with its metavar, help text and default, exactly as ``--help`` prints them (the
same formatter expands ``%(default)s`` and appends the defaults). Nothing is copied by
hand, so the page cannot drift from the code. The nodes are built directly (not through
reST text), so help strings with ``*`` or backticks need no escaping.
"""

import argparse

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

__all__ = ["MirageCLI", "setup"]


def _subparsers_action(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _option_label(action):
    """``--beta BETA`` or ``-o/--output FILE``; a positional's metavar or name."""
    if not action.option_strings:
        return action.metavar or action.dest
    label = ", ".join(action.option_strings)
    if action.nargs == 0:
        return label
    metavar = action.metavar or action.dest.upper()
    if isinstance(metavar, tuple):
        metavar = " ".join(metavar)
    return f"{label} {metavar}"


def _help_text(parser, action):
    """The help exactly as ``--help`` shows it (defaults appended, %-expanded)."""
    formatter = parser._get_formatter()
    text = formatter._expand_help(action) if action.help else ""
    if action.choices and not isinstance(action, argparse._SubParsersAction):
        choices = ", ".join(str(c) for c in action.choices)
        if choices not in text:
            text = f"{text} (choices: {choices})" if text else f"choices: {choices}"
    return " ".join(text.split())


class MirageCLI(SphinxDirective):
    """``.. mirage-cli::`` — one section per ``mirage`` (sub)command."""

    has_content = False

    def run(self):
        from mirage_cli.main import build_parser

        parser = build_parser(("--help",))
        return [self._section(parser, "mirage", parser.description or "", level=0)]

    def _section(self, parser, title, help_line, level):
        section = nodes.section()
        section["ids"].append(nodes.make_id(f"cli-{title}"))
        section["names"].append(nodes.fully_normalize_name(title))
        section += nodes.title(text=title)
        self.state.document.note_implicit_target(section, section)
        if help_line:
            section += nodes.paragraph(text=help_line[0].upper() + help_line[1:] + ".")
        if parser.description and parser.description != help_line:
            for para in parser.description.split("\n\n"):
                section += nodes.paragraph(text=" ".join(para.split()))
        usage = parser.format_usage().strip()
        section += nodes.literal_block(usage, usage, language="none")

        options = nodes.definition_list()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
                continue
            item = nodes.definition_list_item()
            term = nodes.term()
            term += nodes.literal(text=_option_label(action))
            item += term
            definition = nodes.definition()
            definition += nodes.paragraph(text=_help_text(parser, action) or "(no help text)")
            item += definition
            options += item
        if len(options):
            rubric = nodes.rubric(text="Options" if level else "Global options")
            section += rubric
            section += options

        sub = _subparsers_action(parser)
        if sub is not None:
            helps = {a.dest: a.help or "" for a in sub._choices_actions}
            table = nodes.definition_list()
            for name in sub.choices:
                item = nodes.definition_list_item()
                term = nodes.term()
                term += nodes.literal(text=f"{title} {name}")
                item += term
                definition = nodes.definition()
                definition += nodes.paragraph(text=helps.get(name, ""))
                item += definition
                table += item
            section += nodes.rubric(text="Commands")
            section += table
            seen = set()
            for name, child in sub.choices.items():
                if id(child) in seen:  # an alias of a command already documented
                    continue
                seen.add(id(child))
                section += self._section(child, f"{title} {name}", helps.get(name, ""),
                                         level + 1)
        return section


def setup(app):
    app.add_directive("mirage-cli", MirageCLI)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
