"""Validation of manifests against the official Kubernetes schemas (kubernetes-validate, strict mode).

Strict mode rejects any field the schema does not define. The suite checks the oldest and the newest
Kubernetes release the platform supports.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate

KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")


def validate_strict(manifest: dict[str, Any]) -> None:
    """Raise kubernetes_validate's error if `manifest` is not a valid object on every pinned version."""
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(manifest, version, strict=True)
