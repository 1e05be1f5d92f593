"""`spreaders worker`: the background jobs of the scaled mode, as one long-running process.

Today that is the execution monitor (see `monitor/jobs.py`); `spreaders serve` runs the same loop in
process, and both may run at once against one database.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import start_http_server

from spreaders.bootstrap import open_app
from spreaders.monitor.jobs import monitor_pass, monitor_settings, run_monitor
from spreaders.monitor.metrics import MonitorMetrics
from spreaders.monitor.schemas import MonitorPassReport
from spreaders.settings import Settings

logger = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _metrics_server(metrics: MonitorMetrics, host: str, port: int | None) -> Iterator[int | None]:
    """Serve the worker's registry over HTTP (`/metrics`) on `port`; yields the bound port."""
    if port is None:
        yield None
        return
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def run_worker(
    settings: Settings,
    *,
    interval_s: float | None = None,
    once: bool = False,
    metrics_port: int | None = None,
    restart: bool = True,
    on_ready: Callable[[float, str | None], None] | None = None,
) -> MonitorPassReport | None:
    """Run the monitor until SIGINT/SIGTERM (or one pass with `once`, returning its report)."""
    config = monitor_settings(settings)
    config = config.model_copy(update={"restart_dead_instances": config.restart_dead_instances and restart})
    if interval_s is not None:
        config = config.model_copy(update={"interval_s": interval_s})
    metrics = MonitorMetrics()
    async with open_app(settings) as ctx:
        uninstrument = metrics.instrument(ctx.engine, ctx.http, ctx.streams, ctx.inline)
        try:
            if once:
                return await monitor_pass(ctx, config=config, metrics=metrics)
            with _metrics_server(metrics, settings.api.host, metrics_port) as port:
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in _STOP_SIGNALS:
                    loop.add_signal_handler(sig, stop.set)
                try:
                    if on_ready is not None:
                        url = f"http://{settings.api.host}:{port}/metrics" if port else None
                        on_ready(config.interval_s, url)
                    logger.info("worker started: monitor every %.1fs", config.interval_s)
                    await run_monitor(ctx, stop=stop, config=config, metrics=metrics)
                finally:
                    for sig in _STOP_SIGNALS:
                        loop.remove_signal_handler(sig)
            logger.info("worker stopped")
            return None
        finally:
            uninstrument()
