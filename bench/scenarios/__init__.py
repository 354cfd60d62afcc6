"""The scenarios, in the order the table shows them; each is ``run(bench) -> list[Row]``."""

from __future__ import annotations

from collections.abc import Callable

from harness import Bench, Row

from scenarios import (
    completion,
    config_store,
    imports,
    login,
    official,
    shell,
    startup,
    verify,
    verify_tls,
)

Scenario = Callable[[Bench], list[Row]]

SCENARIOS: dict[str, Scenario] = {
    "startup": startup.run,
    "imports": imports.run,
    "verify": verify.run,
    "verify_tls": verify_tls.run,
    "login": login.run,
    "config_store": config_store.run,
    "completion": completion.run,
    "shell": shell.run,
    "official": official.run,
}
