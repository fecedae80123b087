"""The README's claims hold: its options exist, its choices are the CLI's, its columns are the
outputs', and its Quick start has exactly the two command blocks the project promises."""

import argparse
import re
from pathlib import Path

from sleepmove.cli import build_parser
from sleepmove.reports.tables import EPOCH_COLUMNS, EVENT_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Options of the scripts the README documents beside the CLI (benchmarks, Slurm).
NOT_CLI = {
    "--array",
    "--keep",
    "--linearity",
    "--repeats",
    "--seeds",
    "--help",
    "--families",
    "--search",
    "--fit",
    "--formats",
}


def cli_options() -> dict[str, set[str]]:
    """Each subcommand's option strings."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name: {option for action in sub._actions for option in action.option_strings}
        for name, sub in commands.choices.items()
    }


def test_every_option_the_readme_names_exists():
    known = set().union(*cli_options().values())
    named = set(re.findall(r"--[a-z][a-z0-9-]*", README)) - NOT_CLI
    assert named - known == set()


def test_the_readme_choices_are_the_clis():
    options = cli_options()
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    checked = 0
    for match in re.finditer(r"`(--[a-z-]+) ([a-z0-9/-]+(?:\\?\|[a-z0-9/-]+)+)`", README):
        option, listed = match.group(1), set(match.group(2).replace("\\", "").split("|"))
        offered = set()
        for name, sub in commands.choices.items():
            if option in options[name]:
                action = next(a for a in sub._actions if option in a.option_strings)
                offered |= set(action.choices or [])
        assert listed == offered, option
        checked += 1
    assert checked >= 5  # side, criteria, units, placement, age-group


def test_the_readme_columns_are_the_outputs():
    table = README.split("`DIR/events.csv`", 1)[1].split("`DIR/epochs.csv`", 1)[0]
    assert re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M) == EVENT_COLUMNS
    epochs = README.split("`DIR/epochs.csv`", 1)[1].split("`DIR/report.html`", 1)[0]
    assert re.findall(r"`([a-z_]+)`", epochs) == EPOCH_COLUMNS


def test_quick_start_has_exactly_two_command_blocks():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2
    assert "sleepmove analyze data/samples/" in blocks[0]
    sample = re.search(r"data/samples/\S+", blocks[0]).group(0)
    assert (ROOT / sample).exists()
    assert "pytest" in blocks[1]


def test_record_offers_every_protocol_the_registry_describes():
    from sleepmove.cli import build_parser
    from sleepmove.sensor.registry import families

    described = {f.name for f in families()}
    record = build_parser()._subparsers._group_actions[0].choices["record"]
    [protocol] = [a for a in record._actions if a.dest == "protocol"]
    assert set(protocol.choices) == described
    listed = re.search(r"\[--protocol\s+([a-z|\s]+)\]", README).group(1)
    assert set(listed.replace("\n", "").replace(" ", "").split("|")) == described
