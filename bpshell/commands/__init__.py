"""The command table, the one parser that serves argv, shell lines and completion, and help.

- :mod:`~bpshell.commands.table`: the commands, their options, flags and arguments (data).
- :mod:`~bpshell.commands.parse`: a command line into an :class:`Invocation`, or a UsageError.
- :mod:`~bpshell.commands.help`: the help text, help topics, the version, shell wording.

Everything other modules use is re-exported here (``from bpshell.commands import parse``).
All three are light: no I/O, nothing imported that ``bp --help`` would not need.
"""

from __future__ import annotations

from bpshell.commands.help import (
    TOPICS,
    for_shell,
    usage_text,
    version_data,
    version_text,
    worded,
)
from bpshell.commands.parse import (
    HELP_WORD,
    empty_value,
    env_globals,
    find_command,
    parse,
)
from bpshell.commands.table import (
    CHOICES,
    COMMANDS,
    COMPLETION_SHELLS,
    DEFAULT_API_URL,
    DISPLAY_TOKEN,
    ENV_SHELLS,
    GLOBAL_FLAGS,
    GROUPS,
    HELP_FLAG,
    SH_LIKE,
    TRUE_WORDS,
    VERSION_FLAG,
    ActiveOptions,
    Arg,
    Command,
    CompletionOptions,
    EnvOptions,
    ExecOptions,
    Flag,
    GlobalOptions,
    Invocation,
    ListOptions,
    LoginOptions,
    LogoutOptions,
    NameOptions,
    NoOptions,
    RenameOptions,
    ShellOptions,
    TokensCreateOptions,
    TokensRevokeOptions,
    TokensRotateOptions,
    UseOptions,
)

__all__ = [
    "CHOICES",
    "COMMANDS",
    "COMPLETION_SHELLS",
    "DEFAULT_API_URL",
    "DISPLAY_TOKEN",
    "ENV_SHELLS",
    "GLOBAL_FLAGS",
    "GROUPS",
    "HELP_FLAG",
    "HELP_WORD",
    "SH_LIKE",
    "TOPICS",
    "TRUE_WORDS",
    "VERSION_FLAG",
    "ActiveOptions",
    "Arg",
    "Command",
    "CompletionOptions",
    "EnvOptions",
    "ExecOptions",
    "Flag",
    "GlobalOptions",
    "Invocation",
    "ListOptions",
    "LoginOptions",
    "LogoutOptions",
    "NameOptions",
    "NoOptions",
    "RenameOptions",
    "ShellOptions",
    "TokensCreateOptions",
    "TokensRevokeOptions",
    "TokensRotateOptions",
    "UseOptions",
    "empty_value",
    "env_globals",
    "find_command",
    "for_shell",
    "parse",
    "usage_text",
    "version_data",
    "version_text",
    "worded",
]
