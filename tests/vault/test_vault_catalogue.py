from __future__ import annotations

import pytest
from pydantic import ValidationError

from spreaders.errors import Invalid
from spreaders.vault.catalogue import Catalogue, Provider, load_catalogue


def test_catalogue_covers_the_marketing_platforms() -> None:
    platforms = set(load_catalogue().platforms())
    assert {
        "instagram",
        "facebook",
        "twitter",
        "linkedin",
        "tiktok",
        "email",
        "mailchimp",
        "sendgrid",
        "openai",
        "slack",
        "telegram",
        "airtable",
        "google_sheets",
        "hubspot",
        "shopify",
        "http_header",
    } <= platforms


@pytest.mark.parametrize(
    ("platform", "n8n_type"),
    [
        ("mailchimp", "mailchimpApi"),
        ("sendgrid", "sendGridApi"),
        ("openai", "openAiApi"),
        ("telegram", "telegramApi"),
        ("email", "smtp"),
        ("http_header", "httpHeaderAuth"),
    ],
)
def test_platform_maps_to_its_n8n_credential_type(platform: str, n8n_type: str) -> None:
    assert n8n_type in load_catalogue().get(platform).n8n_credential_types


def test_generic_http_header_asks_for_a_name_and_a_secret_value() -> None:
    provider = load_catalogue().get("http_header")
    assert provider.kind == "api_key"
    assert [(f.name, f.secret, f.required) for f in provider.fields] == [
        ("name", False, True),
        ("value", True, True),
    ]


def test_every_form_provider_has_a_secret_field() -> None:
    for provider in load_catalogue().providers:
        if provider.kind != "oauth2":
            assert any(f.secret for f in provider.fields), provider.platform


def test_unknown_platform_lookup_names_the_known_ones() -> None:
    with pytest.raises(Invalid) as caught:
        load_catalogue().get("friendster")
    assert "sendgrid" in str(caught.value)


def test_oauth_provider_with_typed_fields_is_rejected() -> None:
    with pytest.raises(ValidationError, match="oauth2 providers take no typed fields"):
        Provider.model_validate(
            {
                "platform": "x",
                "display_name": "X",
                "kind": "oauth2",
                "fields": [{"name": "k", "label": "K", "secret": True}],
                "n8n_credential_types": ["xApi"],
            }
        )


def test_duplicate_platforms_are_rejected() -> None:
    entry = {
        "platform": "a",
        "display_name": "A",
        "kind": "oauth2",
        "oauth": {"authorize_url": "https://a.example/auth", "token_url": "https://a.example/token"},
        "n8n_credential_types": ["aApi"],
    }
    with pytest.raises(ValidationError, match="duplicate platforms"):
        Catalogue.model_validate({"providers": [entry, entry]})
