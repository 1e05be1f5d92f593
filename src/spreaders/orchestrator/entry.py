"""Make any template startable on demand.

n8n's public API has no "run" endpoint, so at deploy time the platform adds its own entries, webhooks
on secret paths:
- the *entry*, in n8n's `streaming` response mode: its first step (the entry reply) streams the
  execution id at once and the response stays open until the run ends. Start-only calls read the id
  and hang up.
- the *wait entry*, in `lastNode` mode, for execute-and-wait: n8n answers once, when the run ends,
  with the first item of the last node that ran. The platform appends a result node to each branch
  end that emits a compact summary of that end's output with the execution id, so a run that ends at
  its only branch end answers with exactly what the platform records. One write each way: the
  streamed entry costs n8n a node and three socket writes more a run (measured: docs/execution.md).
Templates that answer HTTP themselves get no result nodes and no wait entry; their runs are read
from n8n's API after the stream ends. Either way the caller's parameters arrive as the webhook's item,
`{headers, params, query, body: <parameters>}`.

The template's nodes expect what *their* trigger emits, so each trigger the entries feed gets a
stand-in: a Set node that takes the trigger's name (the trigger itself is renamed) and sits between
the trigger and its followers. Started by an entry, the stand-in reshapes the entry's item into the
trigger's output (form fields, chat message, schedule tick, ...); started by the template's own
trigger, it passes the trigger's items through unchanged. Taking the name keeps `$('Trigger')`
expressions working on both paths; a fifth of the corpus reads its trigger that way.
"""

from __future__ import annotations

import copy
import json
import secrets
import uuid
from typing import Any, Literal

ENTRY_NODE = "Spreaders entry"
ENTRY_REPLY_NODE = "Spreaders entry reply"
WAIT_ENTRY_NODE = "Spreaders wait entry"
# Stand-in for a workflow with no trigger at all: it feeds the nodes nothing else feeds.
INPUT_NODE = "Spreaders input"
# Appended after each branch end; numbered ("Spreaders result 2") when there are several.
RESULT_NODE = "Spreaders result"
PLATFORM_NODES = frozenset({ENTRY_NODE, ENTRY_REPLY_NODE, WAIT_ENTRY_NODE, INPUT_NODE})
ENTRY_NODES = (ENTRY_NODE, WAIT_ENTRY_NODE)
# Request header carrying the platform's run id into the entry's item: how a run whose caller died
# before it learnt the n8n execution id is found again (see `orchestrator.recovery`).
RUN_HEADER = "x-spreaders-run"
# Nodes that answer HTTP callers themselves (or make n8n check Respond-to-Webhook nodes against their
# webhook's response mode): the last node of such a run says nothing reliable about it, so its
# result is read from n8n's API instead.
_ANSWERS_HTTP = frozenset(
    {
        "n8n-nodes-base.webhook",
        "n8n-nodes-base.formTrigger",
        "n8n-nodes-base.form",
        "n8n-nodes-base.respondToWebhook",
        "@n8n/n8n-nodes-langchain.chatTrigger",
    }
)
# No spaces: n8n cannot serve a webhook without a webhookId whose node name has one (see docs).
RENAMED_TRIGGER_SUFFIX = "_template_trigger"

Shape = Literal["webhook", "form", "chat", "schedule", "manual", "app", "subworkflow"]

_SHAPES: dict[str, Shape] = {
    "n8n-nodes-base.webhook": "webhook",
    "n8n-nodes-base.formTrigger": "form",
    "@n8n/n8n-nodes-langchain.chatTrigger": "chat",
    "@n8n/n8n-nodes-langchain.manualChatTrigger": "chat",
    "n8n-nodes-base.scheduleTrigger": "schedule",
    "n8n-nodes-base.cron": "schedule",
    "n8n-nodes-base.interval": "schedule",
    "n8n-nodes-base.manualTrigger": "manual",
    "n8n-nodes-base.start": "manual",
    "n8n-nodes-base.executeWorkflowTrigger": "subworkflow",
}
# Triggers whose type name does not end in "Trigger".
_OTHER_APP_TRIGGERS = frozenset({"n8n-nodes-base.emailReadImap"})
_QUERY_METHODS = frozenset({"GET", "HEAD", "DELETE"})
# Items a result node keeps (the stored output summary keeps at most this many).
RESULT_ITEMS = 5
# Key marking a result node's summary, so a run that ended elsewhere is never read as one.
RESULT_MARK = "spreaders_result"
# Settings keys n8n's public API accepts on create; anything else is refused with a 400.
_ALLOWED_SETTINGS = {
    "executionOrder",
    "saveDataErrorExecution",
    "saveDataSuccessExecution",
    "saveManualExecutions",
    "saveExecutionProgress",
    "executionTimeout",
    "timezone",
    "callerPolicy",
}

# JavaScript bodies of the stand-in's expression; `p` holds the caller's parameters. n8n ends an
# expression at the first "}}", so none of them may contain one (checked in `_shape_expression`).
_PARAMETERS_JS = (
    "const p = $json.body !== null && typeof $json.body === 'object' && !Array.isArray($json.body)"
    " ? $json.body : {};"
)
_SHAPE_JS: dict[Shape, str] = {
    # A manual trigger emits an empty item; `body` stays for templates written to read `$json.body`.
    "manual": "return { body: p, ...p };",
    "app": "return { ...p };",
    "subworkflow": "return { ...p };",
    "form": (
        "return { ...p, submittedAt: p.submittedAt ?? $now.toISO(), formMode: p.formMode ?? 'production' };"
    ),
    "chat": (
        "const rest = Object.fromEntries(Object.entries(p).filter(([k]) => k !== '_previousOutput'));"
        " const said = [p.chatInput, p.message, p.text, p.prompt, p.question, p.query, p.input]"
        ".find((v) => typeof v === 'string');"
        " const chatInput = said ?? (Object.keys(rest).length ? JSON.stringify(rest) : '');"
        " const sessionId = typeof p.sessionId === 'string' && p.sessionId"
        " ? p.sessionId : 'spreaders-' + $execution.id;"
        " return { ...p, sessionId, action: 'sendMessage', chatInput };"
    ),
    # What n8n's Schedule Trigger emits (moment's formats, rebuilt with Luxon's `$now`).
    "schedule": (
        "const n = $now; const d = n.day; const sfx = ['th', 'st', 'nd', 'rd'];"
        " const ord = sfx[((d % 100) - 20) % 10] || sfx[d % 100] || 'th';"
        " const ampm = n.toFormat('a').toLowerCase();"
        " return { timestamp: n.toFormat(\"yyyy-MM-dd'T'HH:mm:ss.SSSZZ\"),"
        " 'Readable date': n.toFormat('MMMM ') + d + ord + n.toFormat(' yyyy, h:mm:ss ') + ampm,"
        " 'Readable time': n.toFormat('h:mm:ss ') + ampm, 'Day of week': n.toFormat('cccc'),"
        " Year: n.toFormat('yyyy'), Month: n.toFormat('LLLL'), 'Day of month': n.toFormat('dd'),"
        " Hour: n.toFormat('HH'), Minute: n.toFormat('mm'), Second: n.toFormat('ss'),"
        " Timezone: n.zoneName + ' (UTC' + n.toFormat('ZZ') + ')', ...p };"
    ),
}


def is_result_node(name: str) -> bool:
    return name == RESULT_NODE or name.startswith(RESULT_NODE + " ")


def is_platform_node(name: str) -> bool:
    """True for the nodes Spreaders adds at deploy time (left out of outputs and logs)."""
    return name in PLATFORM_NODES or is_result_node(name)


def new_entry_path() -> str:
    return f"spreaders-{secrets.token_urlsafe(24)}"


def trigger_shape(node: dict[str, Any]) -> Shape | None:
    """Name the data shape a node emits as a trigger, or None when it is not a trigger."""
    node_type = str(node.get("type", ""))
    if node_type in _SHAPES:
        return _SHAPES[node_type]
    if node_type.rsplit(".", 1)[-1].endswith("Trigger") or node_type in _OTHER_APP_TRIGGERS:
        return "app"
    return None


def _links(branch: object) -> list[dict[str, Any]]:
    return [link for link in branch if isinstance(link, dict)] if isinstance(branch, list) else []


def _main_branches(connections: dict[str, Any], name: str) -> list[Any]:
    outputs = connections.get(name)
    branches = outputs.get("main") if isinstance(outputs, dict) else None
    return branches if isinstance(branches, list) else []


def _first_followers(connections: dict[str, Any], name: str) -> list[str]:
    """Nodes on the trigger's first main output (the one the stand-in takes over)."""
    branches = _main_branches(connections, name)
    names = [str(link.get("node")) for link in _links(branches[0] if branches else None)]
    return list(dict.fromkeys(names))


def _fed_triggers(nodes: list[dict[str, Any]], connections: dict[str, Any]) -> list[dict[str, Any]]:
    """Triggers whose followers the entry feeds: manual ones first, enabled before disabled."""
    triggers = [
        node
        for node in nodes
        if isinstance(node.get("name"), str)
        and trigger_shape(node) is not None
        and _first_followers(connections, node["name"])
    ]
    for enabled in (True, False):
        usable = [node for node in triggers if (node.get("disabled") is not True) == enabled]
        manual = [node for node in usable if trigger_shape(node) == "manual"]
        if manual or usable:
            return manual or usable
    return []


def _roots(nodes: list[dict[str, Any]], connections: dict[str, Any]) -> list[str]:
    """For a workflow without triggers: enabled nodes nothing feeds (sub-nodes and notes aside)."""
    fed: set[str] = set()
    sub_nodes: set[str] = set()
    for source, outputs in connections.items():
        for kind, branches in outputs.items() if isinstance(outputs, dict) else ():
            targets = [str(link.get("node")) for branch in branches or [] for link in _links(branch)]
            if kind == "main":
                fed.update(targets)
            elif targets:
                sub_nodes.add(source)
    roots = [
        str(node["name"])
        for node in nodes
        if isinstance(node.get("name"), str)
        and node.get("disabled") is not True
        and node["name"] not in fed | sub_nodes
        and node.get("type") != "n8n-nodes-base.stickyNote"
    ]
    leading = [name for name in roots if _first_followers(connections, name)]
    return leading or roots


def _webhook_js(node: dict[str, Any]) -> str:
    """Keep the entry's webhook item; GET-style webhooks also get the parameters as the query."""
    params = node.get("parameters") or {}
    methods = params.get("httpMethod", "GET")
    methods = methods if isinstance(methods, list) else [methods]
    query = (
        "{ ...$json.query, ...p }" if _QUERY_METHODS & {str(m).upper() for m in methods} else "$json.query"
    )
    path = params.get("path") or node.get("webhookId") or ""
    path = json.dumps(path if isinstance(path, str) and not path.startswith("=") else "")
    if not node.get("webhookId"):
        # n8n serves a webhook without a webhookId (the registry strips them) under this prefix.
        name = json.dumps(str(node.get("name", "")))
        path = f"$workflow.id + '/' + encodeURIComponent({name}.toLowerCase()) + '/' + {path}"
    own_url = f"String($json.webhookUrl).split('/webhook/')[0] + '/webhook/' + {path}"
    return f"return {{ ...$json, query: {query}, webhookUrl: {own_url} }};"


def _shape_expression(shape: Shape, node: dict[str, Any], entries: tuple[str, ...]) -> str:
    """The stand-in's expression: reshape the entry's item, or pass the trigger's item through."""
    body = _webhook_js(node) if shape == "webhook" else _SHAPE_JS[shape]
    code = f"{_PARAMETERS_JS} {body}"
    if "}}" in code or "{{" in code:  # only a webhook path could bring one in; drop its URL then
        code = f"{_PARAMETERS_JS} return {{ ...$json, query: $json.query }};"
    # Only entries the workflow has: n8n fails an expression naming a node it lacks.
    started = " || ".join(f"$('{name}').isExecuted" for name in entries)
    return f"={{{{ ({started}) ? (() => {{ {code} }})() : $json }}}}"


def _stand_in(name: str, shape: Shape, trigger: dict[str, Any], entries: tuple[str, ...]) -> dict[str, Any]:
    x, y = _position(trigger)
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": "n8n-nodes-base.set",
        "typeVersion": 3.3,
        "position": [x + 110, y + 180],
        "notes": (
            f"Added by Spreaders: emits this template's {shape} trigger data when the platform starts "
            "the run, and passes the trigger's own items through otherwise."
        ),
        "parameters": {
            "mode": "raw",
            "jsonOutput": _shape_expression(shape, trigger, entries),
            "options": {"includeBinary": True},
        },
    }


def _position(node: dict[str, Any]) -> tuple[float, float]:
    position = node.get("position")
    if (
        isinstance(position, list)
        and len(position) == 2
        and all(isinstance(v, int | float) for v in position)
    ):
        return float(position[0]), float(position[1])
    return 0.0, 0.0


def _unique(name: str, taken: set[str]) -> str:
    candidate, counter = name, 2
    while candidate in taken:
        candidate, counter = f"{name} {counter}", counter + 1
    taken.add(candidate)
    return candidate


def _rename_links(connections: dict[str, Any], old: str, new: str) -> None:
    """Point every connection that names `old` (as source or target) at `new`."""
    if old in connections:
        connections[new] = connections.pop(old)
    for outputs in connections.values():
        for branches in outputs.values() if isinstance(outputs, dict) else ():
            for branch in branches if isinstance(branches, list) else ():
                for link in _links(branch):
                    if link.get("node") == old:
                        link["node"] = new


def _insert_stand_ins(
    nodes: list[dict[str, Any]], connections: dict[str, Any], entries: tuple[str, ...]
) -> list[str]:
    """Put a stand-in behind each fed trigger; return the nodes the entry reply feeds."""
    taken = {str(node.get("name")) for node in nodes}
    fed: list[str] = []
    covered: set[str] = set()
    for trigger in _fed_triggers(nodes, connections):
        name = str(trigger["name"])
        followers = _first_followers(connections, name)
        if covered.issuperset(followers):
            continue  # another fed trigger already starts these nodes: do not run them twice
        covered.update(followers)
        shape = trigger_shape(trigger) or "app"
        renamed = _unique(name + RENAMED_TRIGGER_SUFFIX, taken)
        _rename_links(connections, name, renamed)
        trigger["name"] = renamed
        branches = _main_branches(connections, renamed)
        connections[name] = {"main": [branches[0]]}
        branches[0] = [{"node": name, "type": "main", "index": 0}]
        nodes.append(_stand_in(name, shape, trigger, entries))
        fed.append(name)
    if not fed and not any(trigger_shape(node) for node in nodes):
        roots = _roots(nodes, connections)
        if roots:
            first = next(node for node in nodes if node.get("name") == roots[0])
            nodes.append(_stand_in(INPUT_NODE, "manual", first, entries))
            connections[INPUT_NODE] = {"main": [[{"node": r, "type": "main", "index": 0} for r in roots]]}
            fed.append(INPUT_NODE)
    return fed


def _answers_http(nodes: list[dict[str, Any]]) -> bool:
    for node in nodes:
        if node.get("type") in _ANSWERS_HTTP:
            return True
        resume = (node.get("parameters") or {}).get("resume")
        if node.get("type") == "n8n-nodes-base.wait" and resume in ("webhook", "form"):
            return True
    return False


def _branch_ends(connections: dict[str, Any], starts: list[str]) -> list[str]:
    """Nodes reachable from `starts` over main links that link nowhere themselves, in reach order."""
    seen: dict[str, None] = {}
    queue = list(starts)
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen[name] = None
        for branch in _main_branches(connections, name):
            queue += [str(link.get("node")) for link in _links(branch)]
    return [name for name in seen if not any(_links(branch) for branch in _main_branches(connections, name))]


def _nameable(node_name: str) -> bool:
    """Whether an expression can name the node: n8n would cut it at a "{{" or "}}" in the name."""
    return "{{" not in node_name and "}}" not in node_name


def _result_expression(end: str, ends: int) -> str:
    """A result node's summary: the branch end's name, item count and first items, and the run's id."""
    if _nameable(end):
        items, name = f"$({json.dumps(end)}).all()", json.dumps(end)
    else:  # read as the input (then the node runs per item: see `_append_results`)
        items, name = "$input.all()", "$prevNode.name"
    return (
        f'={{{{ {{ "{RESULT_MARK}": true, "executionId": $execution.id, "node": {name}, '
        f'"item_count": {items}.length, "items": {items}.slice(0, {RESULT_ITEMS}).map((i) => i.json), '
        f'"ends": {ends} }} }}}}'
    )


def _append_results(nodes: list[dict[str, Any]], connections: dict[str, Any], starts: list[str]) -> None:
    """Put a result node after each branch end the entries reach (not for templates answering HTTP)."""
    if _answers_http(nodes):
        return
    ends = _branch_ends(connections, starts)
    taken = {str(node.get("name")) for node in nodes}
    by_name = {str(node.get("name")): node for node in nodes}
    for end in ends:
        result = _unique(RESULT_NODE, taken)
        x, y = _position(by_name.get(end, {}))
        nodes.append(
            {
                "id": str(uuid.uuid4()),
                "name": result,
                "type": "n8n-nodes-base.set",
                "typeVersion": 3.3,
                "position": [x + 220, y],
                # Once, reading the end's items by name: run per item, the summary would be built
                # (and stored) once for every item the branch emits.
                "executeOnce": _nameable(end),
                "notes": "Added by Spreaders: sums up this branch's output for the platform.",
                "parameters": {
                    "mode": "raw",
                    "jsonOutput": _result_expression(end, len(ends)),
                    "options": {},
                },
            }
        )
        outputs = connections.setdefault(end, {})
        branches = outputs.setdefault("main", [])
        if not branches:
            branches.append([])
        branches[0] = [*_links(branches[0]), {"node": result, "type": "main", "index": 0}]


def takes_wait_entry(workflow: dict[str, Any]) -> bool:
    """True when the deployable gets result nodes, so a wait entry can answer with the run's result."""
    body = build_deployable(workflow, name="probe", entry_path="probe")
    return any(is_result_node(str(node.get("name"))) for node in body["nodes"])


def _webhook(name: str, path: str, position: list[float], **response: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2.1,  # the first version offering the streaming response mode
        "position": position,
        "webhookId": str(uuid.uuid4()),
        "parameters": {"httpMethod": "POST", "path": path, **response, "options": {}},
    }


def build_deployable(
    workflow: dict[str, Any], *, name: str, entry_path: str, wait_path: str | None = None
) -> dict[str, Any]:
    """Return the body for n8n's `POST /workflows`: the template plus the platform's entries.

    The wait entry is added when `wait_path` is given (only for templates that `takes_wait_entry`).
    """
    nodes: list[dict[str, Any]] = copy.deepcopy(workflow.get("nodes", []))
    connections: dict[str, Any] = copy.deepcopy(workflow.get("connections", {}))
    min_x = min((_position(n)[0] for n in nodes), default=0)
    min_y = min((_position(n)[1] for n in nodes), default=0)
    targets = _insert_stand_ins(nodes, connections, ENTRY_NODES if wait_path is not None else (ENTRY_NODE,))
    _append_results(nodes, connections, targets)
    x, y = min_x - 440, min_y - 240
    nodes.append(_webhook(ENTRY_NODE, entry_path, [x, y], responseMode="streaming"))
    nodes.append(
        {
            "id": str(uuid.uuid4()),
            "name": ENTRY_REPLY_NODE,
            "type": "n8n-nodes-base.respondToWebhook",
            "typeVersion": 1.5,
            "position": [x + 220, y],
            "parameters": {
                "respondWith": "json",
                "responseBody": '={{ { "executionId": $execution.id } }}',
                "options": {},
            },
        }
    )
    connections[ENTRY_NODE] = {"main": [[{"node": ENTRY_REPLY_NODE, "type": "main", "index": 0}]]}
    feeds = {"main": [[{"node": t, "type": "main", "index": 0} for t in targets]]}
    connections[ENTRY_REPLY_NODE] = feeds
    if wait_path is not None:
        wait = _webhook(
            WAIT_ENTRY_NODE, wait_path, [x, y + 200], responseMode="lastNode", responseData="firstEntryJson"
        )
        nodes.append(wait)
        connections[WAIT_ENTRY_NODE] = copy.deepcopy(feeds)
    settings = {k: v for k, v in (workflow.get("settings") or {}).items() if k in _ALLOWED_SETTINGS}
    settings.setdefault("executionOrder", "v1")
    settings["saveDataSuccessExecution"] = "all"
    settings["saveDataErrorExecution"] = "all"
    return {"name": name[:128], "nodes": nodes, "connections": connections, "settings": settings}
