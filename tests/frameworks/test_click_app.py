# ruff: noqa: E501  (tables of source edits read best one edit a line)
"""click: everyday edits of a command-line program, compared with a fresh process
importing the new source, through the group and the commands held since before the
update (`from app import main` in another module, the test's own references)."""

from __future__ import annotations

import itertools
import textwrap

import pytest

from helpers.fw_fresh import fresh, live

pytestmark = pytest.mark.heavy
pytest.importorskip("click")

APP = '''
import click


@click.group()
def cli():
    """The tool."""


@cli.command()
@click.option("--name", default="world", help="Who to greet.")
def hello(name):
    """Say hello."""
    click.echo(f"hello {name}")


@cli.command()
@click.argument("n", type=int)
def square(n):
    click.echo(n * n)


@click.command()
@click.option("--count", default=1)
@click.pass_context
def main(ctx, count):
    """The main command."""
    click.echo(f"main {count} {ctx.info_name}")
'''

PROBE = '''
from click.testing import CliRunner

RUNS = [["hello"], ["hello", "--name", "x"], ["hello", "--loud"], ["hello", "--help"],
        ["square", "3"], ["cube", "2"], ["--help"]]
MAIN_RUNS = [[], ["--count", "3"], ["--help"], ["--shout"]]


def answers(cli, main):
    runner = CliRunner()
    out = {}
    for args in RUNS:
        r = runner.invoke(cli, args, prog_name="tool")
        out["cli " + " ".join(args)] = [r.exit_code, r.output]
    for args in MAIN_RUNS:
        r = runner.invoke(main, args, prog_name="main")
        out["main " + " ".join(args)] = [r.exit_code, r.output]
    return out
'''

CASES = {
    "command body": [('click.echo(f"hello {name}")', 'click.echo(f"hi {name}!")')],
    "held top-level command body": [('click.echo(f"main {count} {ctx.info_name}")',
                                     'click.echo(f"MAIN {count * 2}")')],
    "option added": [('def hello(name):\n    """Say hello."""\n    click.echo(f"hello {name}")',
                      'def hello(name, loud):\n    """Say hello."""\n'
                      '    click.echo(f"hello {name}" + ("!" if loud else ""))'),
                     ('@click.option("--name", default="world", help="Who to greet.")',
                      '@click.option("--name", default="world", help="Who to greet.")\n'
                      '@click.option("--loud", is_flag=True)')],
    "option added to a held top-level command": [
        ('def main(ctx, count):\n    """The main command."""\n'
         '    click.echo(f"main {count} {ctx.info_name}")',
         'def main(ctx, count, shout):\n    """The main command."""\n'
         '    click.echo(f"main {count} {ctx.info_name} {shout}")'),
        ('@click.option("--count", default=1)',
         '@click.option("--count", default=1)\n@click.option("--shout", is_flag=True)')],
    "option default changed": [('default="world"', 'default="there"')],
    "held command's option default changed": [('default=1)', 'default=5)')],
    "subcommand added": [('@cli.command()\n@click.argument("n", type=int)',
                          '@cli.command()\n@click.argument("n", type=int)\ndef cube(n):\n'
                          '    click.echo(n ** 3)\n\n\n@cli.command()\n@click.argument("n", type=int)')],
    "docstring (help text)": [('"""Say hello."""', '"""Greet someone warmly."""'),
                              ('"""The main command."""', '"""The principal command."""')],
    "option help text": [('help="Who to greet."', 'help="The one to greet."')],
}

_ids = itertools.count()


@pytest.mark.parametrize("case", list(CASES))
def test_click_edit_behaves_as_a_fresh_start(case, modules, tmp_path):
    name = f"click_app_{next(_ids)}"
    app = modules(APP, name)
    user = modules(f"from {name} import cli, main\n", name + "_user")  # holds them too
    cli, main = app.module.cli, app.module.main
    before = live(PROBE, "answers(cli, main)", cli=cli, main=main)
    source = textwrap.dedent(APP)
    for old, new in CASES[case]:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    report = app.update(source)
    assert user.module.main is main and user.module.cli is cli and app.module.main is main
    after = live(PROBE, "answers(cli, main)", cli=cli, main=main)
    expected = fresh(tmp_path, PROBE + f"\nfrom {name} import cli, main\n",
                     "answers(cli, main)")
    assert after == expected, str(report)
    assert after != before
