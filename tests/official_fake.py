"""A stand-in for the official Botpress CLI, installed in a project as npm lays it out.

``<project>/node_modules/@botpress/cli/`` holds its package.json (version :data:`VERSION`)
and ``bin.sh``; ``node_modules/.bin/bp`` links to it, where the safe lookup finds the
project's local install. It prints yargs' help (the layout of the 0.8 line) for ``--help``,
logging each such run (and the token it saw, if any) to ``$FAKE_HELP_LOG``. Other runs log
the token they got to ``$FAKE_TOKEN_LOG``: ``dev`` runs until Ctrl-C, ``init`` asks a question
on the terminal, ``raw`` leaves the terminal raw as it dies, ``deploy`` exits 3, anything
else says what it got. The script must not
name bpshell: the lookup would take it for bpshell.
"""

from __future__ import annotations

import json
from pathlib import Path

VERSION = "9.9.9-fake"

SCRIPT = r"""#!/bin/sh
case " $* " in
*" --help "*)
    [ -n "$FAKE_HELP_LOG" ] && echo "help: $* token=${BP_TOKEN:-none}" >> "$FAKE_HELP_LOG"
    case "$*" in
    "--help") cat <<'EOF'
bp <command>

Commands:
  bp login     Login to Botpress Cloud
  bp bots      Bot related commands
  bp deploy    Deploy your project to the cloud
  bp dev       Run your project in dev mode
  bp init      Initialize a new project
  bp publish   Publish an integration                      [aliases: pub]

Options:
  --version  Show version number                                       [boolean]
  --help     Show help                                                 [boolean]
EOF
    ;;
    "bots --help") cat <<'EOF'
bp bots

Bot related commands

Commands:
  bp bots get <botRef>  Get bot
  bp bots list          List bots                               [aliases: ls]

Options:
  --version  Show version number                                       [boolean]
  --help     Show help                                                 [boolean]
EOF
    ;;
    *) cat <<'EOF'
bp command

Options:
      --version       Show version number                              [boolean]
      --help          Show help                                        [boolean]
  -v, --verbose       Enable verbose logging          [boolean] [default: false]
      --json          Prevent logging anything else than raw json in stdout.
                      Useful for piping output to other tools
                                                      [boolean] [default: false]
      --botpressHome  The path to the Botpress home directory
                                           [string] [default: "/root/.botpress"]
      --workspaceId   The Workspace Id to deploy to                     [string]
      --token         You Personal Access Token                         [string]
      --botId         The bot ID to deploy                              [string]
      --noBuild       Skip the build step             [boolean] [default: false]
EOF
    ;;
    esac
    exit 0 ;;
esac
[ -n "$FAKE_TOKEN_LOG" ] && echo "$1: token=${BP_TOKEN:-none}" >> "$FAKE_TOKEN_LOG"
case "$1" in
dev)
    trap 'echo "official dev got SIGINT, stopping"; exit 0' INT
    echo "official dev running: pid=$$ workspace=$BP_WORKSPACE_ID argv=$*"
    while :; do sleep 0.1; done ;;
init)
    printf 'Project name? '
    read -r name
    echo "official init creating $name in $BP_WORKSPACE_ID"
    exit 0 ;;
raw)
    stty raw -echo  # then killed, as a node program with a prompt up may be
    kill -9 $$ ;;
deploy)
    echo "official deploy: argv=$* workspace=$BP_WORKSPACE_ID token=${BP_TOKEN:+set}"
    exit 3 ;;
*)
    echo "official ran: $* workspace=${BP_WORKSPACE_ID:-unset}" ;;
esac
"""


def install(project: Path, script: str = SCRIPT, version: str = VERSION) -> Path:
    """The stand-in in ``project`` (made a project: package.json); its ``.bin/bp``."""
    package = project / "node_modules" / "@botpress" / "cli"
    package.mkdir(parents=True)
    (project / "package.json").write_text("{}")
    (package / "package.json").write_text(json.dumps({"name": "@botpress/cli", "version": version}))
    program = package / "bin.sh"
    program.write_text(script)
    program.chmod(0o755)
    link = project / "node_modules" / ".bin" / "bp"
    link.parent.mkdir()
    link.symlink_to("../@botpress/cli/bin.sh")
    return link


FLAGS = [
    {"names": ["--version"], "value": False, "help": "Show version number"},
    {"names": ["--help"], "value": False, "help": "Show help"},
]
COMMAND_FLAGS = [
    *FLAGS,
    {"names": ["-v", "--verbose"], "value": False, "help": "Enable verbose logging"},
    {
        "names": ["--json"],
        "value": False,
        "help": "Prevent logging anything else than raw json in stdout. Useful for piping "
        "output to other tools",
    },
    {"names": ["--botpressHome"], "value": True, "help": "The path to the Botpress home directory"},
    {"names": ["--workspaceId"], "value": True, "help": "The Workspace Id to deploy to"},
    {"names": ["--token"], "value": True, "help": "You Personal Access Token"},
    {"names": ["--botId"], "value": True, "help": "The bot ID to deploy"},
    {"names": ["--noBuild"], "value": False, "help": "Skip the build step"},
]


def command(name: str, summary: str, **rest: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": name,
        "summary": summary,
        "aliases": [],
        "args": [],
        "flags": COMMAND_FLAGS,
        "commands": [],
    }
    entry.update(rest)
    return entry


# What bpshell keeps of the stand-in's help: every command but login (bpshell's own).
CATALOG = {
    "format": 1,
    "cli": VERSION,
    "commands": [
        command(
            "bots",
            "Bot related commands",
            flags=FLAGS,
            commands=[
                command("get", "Get bot", args=["botRef"]),
                command("list", "List bots", aliases=["ls"]),
            ],
        ),
        command("deploy", "Deploy your project to the cloud"),
        command("dev", "Run your project in dev mode"),
        command("init", "Initialize a new project"),
        command("publish", "Publish an integration", aliases=["pub"]),
    ],
}


def write_cache(home: Path, data: object, version: str = VERSION, mode: int = 0o600) -> Path:
    """A cache file of the official CLI's help, as a shell would have left it."""
    folder = home / "cache"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"official-help.{version}.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    path.chmod(mode)
    return path
