"""The `spreaders` command as a user runs it: a real process, real database, exit codes and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spreaders.settings import Settings

PROMPT = (
    "Launch our spring sneaker drop on Instagram and TikTok next Monday with an email to our list, "
    "$2k budget, for 18-30 year olds in Berlin"
)


def spreaders(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "SPREADERS_DATA_DIR": str(settings.data_dir),
        "SPREADERS_DATABASE_URL": settings.database_url,
        "COLUMNS": "120",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "spreaders.cli.main", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )


def test_plan_json_has_every_field_and_fixed_dates(settings: Settings) -> None:
    done = spreaders(
        settings, "plan", PROMPT, "--json", "--now", "2026-03-05T10:00:00", "--tz", "Europe/Berlin"
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["campaign_type"] == "product_launch"
    assert plan["timeline"]["start"] == "2026-03-09"
    assert plan["target_audience"]["age_min"] == 18


def test_empty_prompt_fails_with_one_line_and_no_traceback(settings: Settings) -> None:
    done = spreaders(settings, "plan", "   ")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("error:")


def test_errors_are_json_under_json(settings: Settings) -> None:
    done = spreaders(settings, "plan", "", "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"] == "invalid"


def test_registry_import_reports_bad_files_with_reasons_and_keeps_good_ones(
    settings: Settings, tmp_path: Path
) -> None:
    good = {
        "name": "CLI import check",
        "nodes": [
            {"name": "Go", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0]},
        ],
        "connections": {},
    }
    (tmp_path / "good.json").write_text(json.dumps(good))
    (tmp_path / "broken.json").write_text("{ this is not json")

    done = spreaders(settings, "registry", "import", str(tmp_path), "--json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["imported"] + report["unchanged"] == 1
    assert [Path(f["path"]).name for f in report["failed"]] == ["broken.json"]
    assert report["failed"][0]["reason"]
    found = json.loads(spreaders(settings, "registry", "search", "CLI import check", "--json").stdout)
    assert found["items"][0]["name"] == "CLI import check"


def test_missing_node_makes_n8n_install_fail_with_what_to_do(settings: Settings, tmp_path: Path) -> None:
    done = spreaders(
        settings,
        "n8n",
        "install",
        env={"PATH": str(tmp_path), "SPREADERS_N8N__INSTALL_DIR": str(tmp_path / "n8n")},
    )
    assert done.returncode == 1
    assert "Node.js" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.e2e
def test_demo_runs_the_prompt_in_a_real_n8n_and_exits_zero(settings: Settings) -> None:
    try:
        done = spreaders(settings, "demo", PROMPT, "--json")
        assert done.returncode == 0, done.stderr + done.stdout
        result = json.loads(done.stdout)
        executions = result["run"]["results"]
        assert result["run"]["status"] == "success"
        assert len(executions) == len(result["campaign"]["workflows"]) >= 2
        assert all(e["status"] == "success" and e["n8n_execution_id"] for e in executions)
        assert result["campaign"]["plan"]["platforms"] == ["instagram", "tiktok", "email"]

        status = json.loads(spreaders(settings, "n8n", "status", "--json").stdout)
        assert status["running"] is True
        assert "api_key" not in json.dumps(status)
    finally:
        stopped = spreaders(settings, "n8n", "stop", "--json")
    assert stopped.returncode == 0
    assert json.loads(stopped.stdout)["running"] is False


def test_registry_show_select_and_rate_work_with_json(settings: Settings, tmp_path: Path) -> None:
    document = {
        "name": "CLI selectable sender",
        "tags": ["spreaders:capability=email_campaign"],
        "nodes": [
            {"name": "Go", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0]}
        ],
        "connections": {},
    }
    (tmp_path / "sender.json").write_text(json.dumps(document))
    imported = json.loads(
        spreaders(settings, "registry", "import", str(tmp_path / "sender.json"), "--json").stdout
    )
    template_id = imported["template_ids"][0]

    shown = json.loads(spreaders(settings, "registry", "show", template_id, "--json").stdout)
    chosen = json.loads(spreaders(settings, "registry", "select", "-c", "email_campaign", "--json").stdout)
    rated = spreaders(settings, "registry", "rate", template_id, "5", "--feedback", "great", "--json")
    missing = spreaders(settings, "registry", "show", "wft_does_not_exist")

    assert shown["name"] == "CLI selectable sender"
    assert "email_campaign" in {c for t in chosen["templates"] for c in t["capabilities"]}
    assert json.loads(rated.stdout)["rating"] == 5
    assert missing.returncode == 1
    assert "wft_does_not_exist" in missing.stderr


def test_instances_commands_answer_json_and_name_unknown_ids_with_a_hint(settings: Settings) -> None:
    listed = spreaders(settings, "instances", "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    for item in json.loads(listed.stdout):
        assert {"instance", "resources", "healthy", "quota", "backups"} <= set(item)

    unknown = spreaders(settings, "instances", "show", "n8n_nope", "--json")
    assert unknown.returncode == 1
    error = json.loads(unknown.stdout)
    assert error["error"] == "not_found" and "spreaders instances ls" in error["hint"]

    bad_tier = spreaders(settings, "instances", "scale", "platinum", "n8n_nope", "--json")
    assert bad_tier.returncode == 1
    refused = json.loads(bad_tier.stdout)
    assert refused["error"] == "invalid" and "free, pro, enterprise" in refused["hint"]
