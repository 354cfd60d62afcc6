"""Pytest plugin: a private, unlocked Secret Service for keyring tests.

Register from the root conftest with ``pytest_plugins = ["tests.conftest_keyring"]``.

Fixtures:

* ``secret_service`` (session): a running :class:`tests.secret_service.SecretService`
  (private dbus-daemon + gnome-keyring-daemon).  Pass ``secret_service.child_env()``
  (or ``{**os.environ, **secret_service.env}``) to subprocesses.  Skipped when the
  binaries are missing, except under ``CI=true`` where that is a failure.
* ``secret_service_env`` (function): ``secret_service.apply()`` for the test, then
  ``restore()`` -- for in-process ``keyring`` calls.
* ``no_keyring_env`` (function): :data:`NO_KEYRING_ENV` set in ``os.environ`` via
  monkeypatch (keyring resolves to the fail backend).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.secret_service import (
    NO_KEYRING_ENV,
    SecretService,
    secret_service_available,
    start_secret_service,
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    if not secret_service_available():
        msg = (
            "Secret Service tests need dbus-daemon and gnome-keyring-daemon "
            "(apt-get install gnome-keyring dbus dbus-x11) and the secretstorage/jeepney "
            "Python packages"
        )
        if _in_ci():
            pytest.fail(f"{msg}; CI=true, so this is an error, not a skip", pytrace=False)
        pytest.skip(msg)
    ss = start_secret_service(tmp_path_factory.mktemp("secret_service"))
    try:
        yield ss
    finally:
        ss.stop()


@pytest.fixture
def secret_service_env(secret_service: SecretService) -> Iterator[SecretService]:
    with secret_service.applied():
        yield secret_service


@pytest.fixture
def no_keyring_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in NO_KEYRING_ENV.items():
        monkeypatch.setenv(key, value)
    return dict(NO_KEYRING_ENV)
