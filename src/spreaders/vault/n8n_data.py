"""Turn a connected account's values into the data of an n8n credential type.

The data is checked against the schema the instance itself serves (`GET /credentials/schema/{type}`),
with the same JSON-schema rules n8n applies, before anything is sent: a mismatch is reported here with
the field it concerns instead of as n8n's nested `allOf` message. Fields a schema requires that the
account does not provide (n8n's conditional `required` blocks, e.g. `sendAdditionalBodyProperties`)
get the neutral value of their type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from spreaders.errors import Invalid

TOKEN_DATA_FIELD = "oauthTokenData"
_MAX_ROUNDS = 20

# n8n's schemas use two types of its own: "json" (any JSON value) and "notice" (a UI label, no value).
_N8N_ONLY_TYPES = {"json", "notice"}


@dataclass(frozen=True)
class OAuthClient:
    """What a generic n8n OAuth2 credential names besides the token: the provider and the client."""

    authorization_url: str
    token_url: str
    client_id: str
    scope: str


def credential_data(
    n8n_type: str,
    schema: Mapping[str, Any],
    *,
    kind: str,
    values: Mapping[str, str],
    oauth_client: OAuthClient | None = None,
) -> dict[str, Any]:
    """Build the `data` of an n8n credential of `n8n_type` from a connection's opened values."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    data = (
        _token_data(n8n_type, properties, values, oauth_client)
        if kind == "oauth2"
        else _field_data(properties, values)
    )
    return _complete(n8n_type, schema, data)


def _token_data(
    n8n_type: str, properties: Mapping[str, Any], values: Mapping[str, str], client: OAuthClient | None
) -> dict[str, Any]:
    token = values.get("access_token", "")
    if not token:
        raise Invalid("The connection holds no access token.", hint="Connect the account again.")
    if TOKEN_DATA_FIELD in properties:
        # No refresh token: the platform is the only party that refreshes, then pushes the new access
        # token. Two refreshers would invalidate each other's rotating refresh tokens.
        data: dict[str, Any] = {
            TOKEN_DATA_FIELD: {"access_token": token, "token_type": values.get("token_type") or "Bearer"}
        }
        if client is not None:
            generic = {
                "grantType": "authorizationCode",
                "authUrl": client.authorization_url,
                "accessTokenUrl": client.token_url,
                "clientId": client.client_id,
                # n8n never sees the operator's client secret; it cannot refresh without one anyway.
                "clientSecret": "held-by-spreaders",
                "scope": client.scope,
                "authentication": "header",
            }
            data.update({key: value for key, value in generic.items() if key in properties})
        return data
    if "accessToken" in properties:
        return {"accessToken": token}
    raise Invalid(f"n8n credential type {n8n_type} cannot carry an OAuth access token.")


def _field_data(properties: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    # The catalogue names a provider's fields after the n8n properties they fill.
    return {
        name: _coerce(name, value, properties[name]) for name, value in values.items() if name in properties
    }


def _coerce(name: str, value: str, spec: Mapping[str, Any]) -> Any:
    kind = spec.get("type")
    if kind == "number":
        try:
            number = float(value)
        except ValueError as exc:
            raise Invalid(
                f"{name} must be a number.", hint="Connect the account again with a number there."
            ) from exc
        return int(number) if number.is_integer() else number
    if kind == "boolean":
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return value


def _neutral(spec: Mapping[str, Any]) -> Any:
    if spec.get("enum"):
        return spec["enum"][0]
    return {"boolean": False, "number": 0}.get(str(spec.get("type")), "")


def _complete(n8n_type: str, schema: Mapping[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Add the neutral value of every property the schema requires until it validates, or explain why not."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    validator = Draft7Validator(_standard(schema))
    filled: set[str] = set()
    for _ in range(_MAX_ROUNDS):
        errors = list(validator.iter_errors(data))
        if not errors:
            return data
        changed = False
        for missing in _required_missing(errors, data):
            if missing in properties:
                data[missing] = _neutral(properties[missing])
                filled.add(missing)
                changed = True
        for refused in _forbidden_present(errors, data):
            if refused in filled:
                del data[refused]
                filled.discard(refused)
                changed = True
        if not changed:
            break
    problems = "; ".join(sorted({_describe(error) for error in validator.iter_errors(data)}))
    raise Invalid(
        f"The connection's values do not fit n8n credential type {n8n_type}: {problems}.",
        hint="Reconnect the account with the fields the platform asks for, or report this mapping.",
    )


def _standard(schema: Any) -> Any:
    """The schema with n8n's own types read as "any value", for a standard validator."""
    if isinstance(schema, dict):
        return {
            key: _standard(value)
            for key, value in schema.items()
            if not (key == "type" and value in _N8N_ONLY_TYPES)
        }
    if isinstance(schema, list):
        return [_standard(item) for item in schema]
    return schema


def _names(value: object) -> list[str]:
    return [str(name) for name in value] if isinstance(value, list) else []


def _leaves(errors: list[ValidationError]) -> list[ValidationError]:
    found: list[ValidationError] = []
    for error in errors:
        found += _leaves(list(error.context)) if error.context else [error]
    return found


def _required_missing(errors: list[ValidationError], data: Mapping[str, Any]) -> list[str]:
    return [
        name
        for error in _leaves(errors)
        if error.validator == "required"
        for name in _names(error.validator_value)
        if name not in data
    ]


def _forbidden_present(errors: list[ValidationError], data: Mapping[str, Any]) -> list[str]:
    # n8n writes "this field must be absent" as {"not": {"required": [name]}}.
    return [
        name
        for error in _leaves(errors)
        if error.validator == "not" and isinstance(error.validator_value, dict)
        for name in _names(error.validator_value.get("required"))
        if name in data
    ]


def _describe(error: ValidationError) -> str:
    # Built from the schema side only: jsonschema's own messages quote the value, which may be a secret.
    if error.validator == "required":
        return "needs " + ", ".join(_names(error.validator_value))
    where = ".".join(str(part) for part in error.absolute_path) or "the data"
    return f"{where} fails the {error.validator} rule ({error.validator_value!r})"
