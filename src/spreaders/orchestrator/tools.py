"""MCP tools of the orchestrator: run a template in the workspace's n8n and follow an execution."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from spreaders.mcp.toolkit import READ_ONLY, RUNS_WORKFLOWS, ProgressRelay, ToolEnv, result, tool
from spreaders.monitor.schemas import ExecutionRead
from spreaders.orchestrator import service as orchestrator

EXECUTE = """Run a workflow template in this workspace's n8n with the given input parameters.

Starts n8n first if needed (the very first start installs it and can take minutes), deploys the template,
runs it and by default waits for the result; progress notifications report each step. The result carries
the execution status, the n8n execution id and a compact summary of the output items. With
waitForCompletion=false it returns at once: poll execution.getStatus with the returned `id`. Pass an
idempotencyKey when retrying so the same run is not started twice. A template needing credentials fails
until they are connected (credential.connect)."""

GET_STATUS = """Get the current status of an execution (exe_... id from workflow.execute or execution.list),
refreshed from n8n while it runs: status, timing, output summary, and the error and failing node if it
failed."""


def describe(execution: ExecutionRead) -> str:
    """One line an agent can read: status, n8n id, duration, error."""
    text = f"Execution {execution.id} is {execution.status}"
    if execution.n8n_execution_id:
        text += f" (n8n execution {execution.n8n_execution_id})"
    if execution.duration_ms is not None:
        text += f" after {execution.duration_ms} ms"
    if execution.error:
        where = f" at node '{execution.error_node}'" if execution.error_node else ""
        text += f"; error{where}: {execution.error}"
    return text + "."


def register(server: MCPServer[Any], env: ToolEnv) -> None:
    """Add workflow.execute and execution.getStatus."""

    @tool(server, name="workflow.execute", description=EXECUTE, annotations=RUNS_WORKFLOWS)
    async def execute(
        ctx: Context[Any, Any],
        workflowId: Annotated[str, Field(description="Template id from workflow.search.")],
        parameters: Annotated[
            dict[str, Any] | None, Field(description="Input the workflow receives (its webhook JSON body).")
        ] = None,
        waitForCompletion: Annotated[
            bool, Field(description="Wait for the run to finish before answering.")
        ] = True,
        timeoutSeconds: Annotated[
            float, Field(gt=0, le=3600, description="How long to wait; the run keeps going in n8n after it.")
        ] = 120,
        idempotencyKey: Annotated[
            str | None,
            Field(max_length=200, description="Repeat a call with the same key to get the same run."),
        ] = None,
    ) -> Annotated[CallToolResult, ExecutionRead]:
        caller = env.caller("workflows:execute")
        relay = ProgressRelay(ctx)
        relay.say(f"running workflow {workflowId}")
        try:
            execution = await orchestrator.execute(
                caller.app,
                principal=caller.principal,
                template_id=workflowId,
                parameters=parameters or {},
                idempotency_key=idempotencyKey,
                wait=waitForCompletion,
                timeout_s=timeoutSeconds,
                provisioning_progress=relay.say,
                run_progress=relay.run,
            )
            relay.say(f"execution {execution.id} is {execution.status}")
        finally:
            await relay.flush()
        return result(execution, describe(execution))

    @tool(server, name="execution.getStatus", description=GET_STATUS, annotations=READ_ONLY)
    async def get_status(
        executionId: Annotated[str, Field(description="Execution id (exe_...).")],
    ) -> Annotated[CallToolResult, ExecutionRead]:
        caller = env.caller("executions:read")
        execution = await orchestrator.get_status(
            caller.app, principal=caller.principal, execution_id=executionId
        )
        return result(execution, describe(execution))
