"""Keyring backends for ``bp`` processes under test, chosen with
``PYTHON_KEYRING_BACKEND=tests.keyring_backends.<Name>`` (the project root is on PYTHONPATH).

* :class:`Frozen`: every call sleeps forever, as a Secret Service stuck in D-Bus does.
* :class:`FileBacked`: entries in the JSON file ``$BPSHELL_TEST_KEYRING`` (locked, atomic),
  each call taking ``$BPSHELL_TEST_KEYRING_DELAY`` seconds, half before its change and half
  after (as a D-Bus round trip whose write lands before the reply): a slow keyring that
  several processes share, for interruption and race tests.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

KEYRING_FILE = "BPSHELL_TEST_KEYRING"
KEYRING_DELAY = "BPSHELL_TEST_KEYRING_DELAY"


class Frozen(KeyringBackend):
    """Never answers."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(3600)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        time.sleep(3600)

    def delete_password(self, service: str, username: str) -> None:
        time.sleep(3600)


class FileBacked(KeyringBackend):
    """A slow keyring in a JSON file: ``{"<service>\\t<user>": "<password>"}``."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        self._wait()
        value: str | None = read_entries(_path()).get(f"{service}\t{username}")
        self._wait()
        return value

    def set_password(self, service: str, username: str, password: str) -> None:
        self._wait()
        with _changing(_path()) as entries:
            entries[f"{service}\t{username}"] = password
        self._wait()

    def delete_password(self, service: str, username: str) -> None:
        self._wait()
        with _changing(_path()) as entries:
            found = entries.pop(f"{service}\t{username}", None)
        self._wait()
        if found is None:
            raise PasswordDeleteError("no such entry")

    def _wait(self) -> None:
        time.sleep(float(os.environ.get(KEYRING_DELAY) or 0) / 2)


def _path() -> Path:
    return Path(os.environ[KEYRING_FILE])


def read_entries(path: Path) -> dict[str, Any]:
    """What the file keyring at ``path`` holds (``{}`` when there is none yet)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextlib.contextmanager
def _changing(path: Path) -> Iterator[dict[str, Any]]:
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = read_entries(path)
        yield entries
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries))
        os.replace(tmp, path)
