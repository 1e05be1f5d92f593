"""Human-readable views of plans, templates, executions and campaign runs."""

from __future__ import annotations

import json

from rich.table import Table

from spreaders.campaigns.schemas import CampaignCreated, CampaignRunReport
from spreaders.cli.output import console
from spreaders.monitor.schemas import ExecutionRead
from spreaders.planner.schemas import CampaignPlan
from spreaders.registry.schemas import TemplateRead, TemplateSummary


def plan(value: CampaignPlan) -> None:
    table = Table(title=f"Plan: {value.name}", show_header=False, title_justify="left")
    timeline = value.timeline
    budget = value.budget
    audience = value.target_audience
    ages = (
        f"{audience.age_min or '?'}-{audience.age_max or '?'}" if audience.age_min or audience.age_max else ""
    )
    rows = {
        "campaign_type": value.campaign_type,
        "objectives": ", ".join(value.objectives),
        "platforms": ", ".join(value.platforms),
        "content_requirements": ", ".join(value.content_requirements),
        "timeline": f"{timeline.start or '?'} -> {timeline.end or '?'}"
        if timeline.start or timeline.end
        else "",
        "budget": f"{budget.amount:g} {budget.currency}" if budget.amount is not None else "",
        "target_audience": "; ".join(
            part
            for part in (
                ages,
                ", ".join(audience.locations),
                ", ".join(audience.interests),
                ", ".join(audience.segments),
            )
            if part
        ),
        "required_workflows": ", ".join(value.required_workflows),
        "confidence": f"{value.confidence:.2f}",
    }
    for key, text in rows.items():
        table.add_row(key, text or "[dim]unknown[/]")
    console.print(table)
    for fact in value.missing:
        console.print(f"  [yellow]missing[/] {fact.field}: {fact.question}")


def templates(items: list[TemplateSummary], *, title: str = "Workflows") -> None:
    table = Table(title=title, title_justify="left")
    for column in ("id", "name", "platforms", "capabilities", "trigger"):
        table.add_column(column)
    for item in items:
        table.add_row(
            item.id, item.name, ", ".join(item.platforms), ", ".join(item.capabilities), item.trigger_type
        )
    console.print(table)


def _output_preview(execution: ExecutionRead) -> str:
    items = execution.output.get("items") or []
    if not items:
        return execution.error or ""
    return json.dumps(items[0], default=str, ensure_ascii=False)


def executions(items: list[ExecutionRead], names: dict[str, str] | None = None) -> None:
    names = names or {}
    console.print("[bold]Executions[/]")
    for item in items:
        mark = "[green]✓[/]" if item.status == "success" else "[red]✗[/]"
        console.print(f"{mark} {names.get(item.template_id, item.template_id)}", highlight=False)
        console.print(
            f"    n8n workflow {item.n8n_workflow_id} · execution {item.n8n_execution_id or '-'} · "
            f"{item.status} · {item.duration_ms if item.duration_ms is not None else '-'} ms",
            highlight=False,
        )
        preview = _output_preview(item)
        if preview:
            label = "error" if item.error else "output"
            console.print(f"    {label}: {preview}", no_wrap=True, overflow="ellipsis", highlight=False)


def campaign_created(value: CampaignCreated, *, show_next_step: bool = True) -> None:
    console.print(f"[bold]Campaign[/] {value.id}")
    plan(value.plan)
    templates(value.workflows, title="Chosen workflows")
    if value.uncovered_capabilities or value.uncovered_platforms:
        gaps = ", ".join([*value.uncovered_capabilities, *value.uncovered_platforms])
        console.print(f"  [yellow]no template yet for[/] {gaps}", highlight=False)
    for missing in value.missing_credentials:
        console.print(
            f"  [yellow]needs credential[/] {missing.n8n_credential_type} ({missing.platform or '?'})"
        )
    if show_next_step:
        console.print(f"Next: {value.next_step}")


def run_report(value: CampaignRunReport, names: dict[str, str]) -> None:
    executions(value.results, names)
    style = "green" if value.status == "success" else "red"
    console.print(f"[{style}]{value.status}[/]: {value.completed}/{value.total} workflows succeeded")
    if value.failed_step:
        console.print(f"  failed at: {value.failed_step}")


def template_details(value: TemplateRead) -> None:
    table = Table(title=f"{value.name} (v{value.version})", show_header=False, title_justify="left")
    rating = value.rating
    rows = {
        "id": value.id,
        "category": value.category,
        "trigger": value.trigger_type,
        "platforms": ", ".join(value.platforms),
        "capabilities": ", ".join(value.capabilities),
        "credentials": ", ".join(
            f"{c.get('type')} ({c.get('platform') or '?'})" for c in value.required_credentials
        ),
        "inputs": ", ".join(
            f"{name} ({value.input_types[name]})" if name in value.input_types else name
            for name in value.required_inputs
        ),
        "estimated run": f"{value.estimated_duration_ms} ms",
        "valid": "yes" if value.is_valid else "no",
        "used": f"{value.usage_count} runs, {value.success_count} succeeded",
        "rating": f"{rating.average}/5 from {rating.count}" if rating and rating.count else "",
        "changes": value.change_summary,
        "source": value.source,
    }
    for key, text in rows.items():
        table.add_row(key, text or "[dim]-[/]")
    console.print(table)
    for issue in value.issues:
        node = f" [{issue.get('node')}]" if issue.get("node") else ""
        console.print(f"  {issue.get('level')}: {issue.get('message')}{node}", highlight=False)
