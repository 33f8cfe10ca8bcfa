"""State the emulators share: a switchable mode, and fake credentials they issue.

Mixins over :class:`~credpick.testing._server.LoopbackServer`, whose lock they
use; each emulator's ``_reset_state`` calls ``_restore_mode``/``_reissue``.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Generic, TypeVar

from credpick.testing._fakes import FakeCredentials
from credpick.testing._sts_strict import IDENTITIES

__all__ = ["CredentialIssuer", "Modes"]

ModeT = TypeVar("ModeT", bound=str)


class Modes(Generic[ModeT]):
    """A behaviour the test can switch while the server runs."""

    _lock: threading.Lock
    _initial_mode: ModeT
    _mode: ModeT

    def _init_mode(self, mode: ModeT) -> None:
        self._initial_mode = self._mode = mode

    @property
    def mode(self) -> ModeT:
        """The current mode."""
        with self._lock:
            return self._mode

    def set_mode(self, mode: ModeT) -> None:
        """Switch behaviour for subsequent requests.

        Args:
            mode: The new mode.
        """
        with self._lock:
            self._mode = mode

    def _restore_mode(self) -> None:
        self._mode = self._initial_mode


class CredentialIssuer:
    """Fake temporary credentials with a lifetime the test controls."""

    _lock: threading.Lock
    account_id: str
    _expires_in: timedelta
    _credentials: FakeCredentials

    def _init_credentials(self, expires_in: timedelta, account_id: str) -> None:
        self.account_id = account_id
        self._expires_in = expires_in
        self._credentials = self._remember(
            FakeCredentials.issue(expires_in=expires_in, account_id=account_id)
        )

    def _session_arn(self) -> str | None:
        """The assumed-role ARN the issued credentials belong to, if any."""
        return None

    def _remember(self, creds: FakeCredentials) -> FakeCredentials:
        # So the strict STS reports this role from GetCallerIdentity, and
        # refuses the key once it has expired.
        arn = self._session_arn()
        if arn is not None:
            IDENTITIES.remember(creds.access_key_id, arn, creds.expiration)
        return creds

    @property
    def credentials(self) -> FakeCredentials:
        """The credentials currently served."""
        with self._lock:
            return self._credentials

    def rotate(self, expires_in: timedelta | None = None) -> FakeCredentials:
        """Issue new credentials, as the real endpoint does before the old ones expire.

        Args:
            expires_in: Lifetime of the new set; defaults to the constructor's.

        Returns:
            The new credentials, served from now on.
        """
        fresh = self._remember(
            FakeCredentials.issue(
                expires_in=expires_in or self._expires_in, account_id=self.account_id
            )
        )
        with self._lock:
            self._credentials = fresh
        return fresh

    def _reissue(self) -> None:
        self._credentials = self._remember(
            FakeCredentials.issue(expires_in=self._expires_in, account_id=self.account_id)
        )
