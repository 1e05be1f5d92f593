"""How every command speaks: Rich for people, `--json` for programs, one line per error, exit 1."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from spreaders.errors import SpreadersError
from spreaders.settings import Settings

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
logger = logging.getLogger("spreaders.cli")

console = Console()
err_console = Console(stderr=True)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, default=str) + "\n")


def fail(message: str, *, as_json: bool, code: str = "error", hint: str | None = None) -> NoReturn:
    if as_json:
        print_json({"error": code, "message": message, "hint": hint})
    else:
        err_console.print(f"[bold red]error:[/] {message}" + (f" {hint}" if hint else ""), highlight=False)
    raise typer.Exit(code=1)


def _configure_logging(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(settings.data_dir / "spreaders.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())


def run(factory: Callable[[Settings], Coroutine[Any, Any, T]], *, as_json: bool) -> T:
    """Run one command's coroutine; map every failure to one readable line and exit code 1."""
    try:
        settings = Settings()
        _configure_logging(settings)
        return asyncio.run(factory(settings))
    except SpreadersError as exc:
        fail(exc.message, as_json=as_json, code=exc.code, hint=exc.hint)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(code=130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # the outermost wrapper: log the trace, show one line
        logger.exception("command failed")
        fail(
            f"unexpected {exc.__class__.__name__}: {exc}",
            as_json=as_json,
            code="internal",
            hint="Details are in spreaders.log in the data directory.",
        )


@contextmanager
def progress_line() -> Iterator[Callable[[str], None]]:
    """Progress on stderr (so --json output stays clean): a spinner on a terminal, else plain lines."""
    if err_console.is_terminal:
        with err_console.status("working") as status:
            yield lambda message: status.update(message)
        return
    last: dict[str, Any] = {"head": None, "at": 0.0}

    def line(message: str) -> None:
        head, now = message.split("(")[0], time.monotonic()
        if head != last["head"] or now - last["at"] > 15:
            err_console.print(message, highlight=False)
            last.update(head=head, at=now)

    yield line
