from __future__ import annotations

import json

import pytest

from spreaders.registry.parsing import ParseError, parse_text, workflow_problem

ONE = {"name": "One", "nodes": [{"name": "Start", "type": "n8n-nodes-base.manualTrigger"}], "connections": {}}
TWO = {"name": "Two", "nodes": [{"name": "Hook", "type": "n8n-nodes-base.webhook"}], "connections": {}}


def names(text: str) -> list[str]:
    return [workflow["name"] for workflow in parse_text(text).workflows]


def test_single_workflow_object_is_read() -> None:
    parsed = parse_text(json.dumps(ONE))
    assert parsed.workflows == [ONE]
    assert parsed.rejected == []
    assert parsed.warnings == []


def test_list_of_workflows_is_read_in_order() -> None:
    assert names(json.dumps([ONE, TWO])) == ["One", "Two"]


def test_trailing_text_after_the_json_is_ignored_with_a_warning() -> None:
    parsed = parse_text(json.dumps(ONE) + "\n\nCopied from the n8n forum, enjoy!")
    assert [w["name"] for w in parsed.workflows] == ["One"]
    assert any("non-JSON text" in warning for warning in parsed.warnings)


def test_two_concatenated_json_objects_are_both_read() -> None:
    assert names(json.dumps(ONE) + json.dumps(TWO)) == ["One", "Two"]
    assert names(json.dumps(ONE) + "\n" + json.dumps(TWO)) == ["One", "Two"]


def test_byte_order_mark_and_leading_whitespace_are_tolerated() -> None:
    assert names("\ufeff  \n" + json.dumps(ONE)) == ["One"]


@pytest.mark.parametrize(
    "document",
    [
        {"workflows": [ONE, TWO]},
        {"data": {"workflows": [ONE, TWO]}},
        {"data": [ONE, TWO]},
    ],
)
def test_workflows_and_data_wrappers_are_unwrapped(document: object) -> None:
    assert names(json.dumps(document)) == ["One", "Two"]


def test_data_wrapper_around_a_single_workflow_is_unwrapped() -> None:
    assert names(json.dumps({"data": ONE})) == ["One"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("this is not json", "not JSON"),
        ("{'single': 'quotes'}", "not JSON"),
        ("42", "expected a workflow object, found a JSON number"),
        ('"just a string"', "found a JSON string"),
        ("[]", "the list is empty"),
        ('{"name": "no nodes"}', "no 'nodes' list"),
        ('{"nodes": {"a": 1}}', "'nodes' must be a list"),
        ('{"nodes": []}', "'nodes' is empty"),
        ('{"nodes": [1, 2]}', "node #0 is a JSON number, not an object"),
        ('{"nodes": [{"name": "A"}]}', "node #0 ('A') has no 'type'"),
        ('{"nodes": [{"name": "A", "type": "x"}], "connections": []}', "'connections' must be an object"),
    ],
)
def test_garbage_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_text(text)
    assert reason in str(caught.value)


def test_bad_items_in_a_list_are_rejected_while_good_ones_are_kept() -> None:
    parsed = parse_text(json.dumps([ONE, {"name": "broken"}, TWO]))
    assert [w["name"] for w in parsed.workflows] == ["One", "Two"]
    assert parsed.rejected == ["item #1: JSON object has no 'nodes' list, so it is not an n8n workflow"]


def test_workflow_problem_accepts_a_minimal_workflow() -> None:
    assert workflow_problem(ONE) is None
    assert workflow_problem({"nodes": [{"type": "n8n-nodes-base.set"}]}) is None
