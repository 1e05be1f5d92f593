"""Connect-link states a page tells apart; both stay inside the platform's error tree."""

from __future__ import annotations

from spreaders.errors import Conflict, Invalid


class ConnectLinkUsed(Conflict):
    """The single-use connect link was already submitted."""


class ConnectLinkExpired(Invalid):
    """The connect link is past its expiry time."""
