"""Vault states callers tell apart; all stay inside the platform's error tree."""

from __future__ import annotations

from spreaders.errors import Conflict, Invalid, Unavailable


class ConnectLinkUsed(Conflict):
    """The single-use connect link was already submitted."""


class ConnectLinkExpired(Invalid):
    """The connect link is past its expiry time."""


class SealedValueInvalid(Invalid):
    """A sealed value is malformed, tampered with, or bound to another row or tenant."""


class MasterKeyMissing(Unavailable):
    """A master key version that sealed values use is not configured."""


class WrongMasterKey(Unavailable):
    """A configured master key is not the one that sealed this database's values."""


class AuditUnavailable(Unavailable):
    """The audit record could not be written, so the audited action was refused."""
