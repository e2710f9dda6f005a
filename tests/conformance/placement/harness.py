"""One real HTTP port for a whole run, serving a new placement app per gabbi file.

Gabbi fixes host and port when it builds the tests, so the server stays up and only
the app behind it changes: ``Switchboard`` forwards every request to the current app,
and ``Harness.start`` builds a new one (fresh database, the file's settings) and runs
its lifespan on the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from common.settings import load_settings
from placement.app import create_app
from tests.conformance.placement.databases import DatabaseFactory
from tests.httpserver import serve


class Switchboard:
    """An ASGI app that forwards to whichever placement app is loaded."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self.app is None:
            raise RuntimeError("no placement app loaded")
        await self.app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.loop = asyncio.get_running_loop()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def call(self, coro: Any) -> Any:
        """Run ``coro`` on the server's loop and wait for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)


@dataclass
class FileConfig:
    """What a gabbi file's fixtures ask of the service."""

    policy_rules: dict[str, str] | None = None
    cors: dict[str, Any] = field(default_factory=dict)


class Harness:
    """The server, the databases, and the app of the gabbi file being run."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.workdir = workdir
        self.switchboard = Switchboard()
        self.databases = DatabaseFactory(backend, workdir)
        self.base_url = ""
        self._stack = contextlib.ExitStack()
        self._app_exit: contextlib.AsyncExitStack | None = None
        self._db_url: str | None = None

    def __enter__(self) -> Harness:
        self._stack.enter_context(self.databases)
        self.base_url = self._stack.enter_context(serve(self.switchboard))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._stack.close()

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def start(self, config: FileConfig) -> None:
        """Serve a new app on a new database, configured as ``config`` says."""
        self.stop()
        self._db_url = self.databases.create()
        policy_file = None
        if config.policy_rules is not None:
            policy_file = self.workdir / "policy.yaml"
            policy_file.write_text(yaml.safe_dump(config.policy_rules))
        settings = load_settings(
            data_dir=self.workdir / "data",
            database={"placement_url": self._db_url, "pool_size": 2},
            auth={"strategy": "noauth", "policy_file": str(policy_file) if policy_file else None},
            **({"cors": config.cors} if config.cors else {}),
        )
        app = create_app(settings)
        exit_stack = contextlib.AsyncExitStack()

        async def enter() -> None:
            await exit_stack.enter_async_context(app.router.lifespan_context(app))

        self.switchboard.call(enter())
        self._app_exit = exit_stack
        self.switchboard.app = app

    def stop(self) -> None:
        """Close the current app (its engine) and drop its database."""
        if self._app_exit is not None:
            self.switchboard.call(self._app_exit.aclose())
            self._app_exit = None
        self.switchboard.app = None
        if self._db_url is not None:
            self.databases.drop(self._db_url)
            self._db_url = None

    @contextlib.contextmanager
    def client(self) -> Iterator[httpx.Client]:
        """An admin client of the current app."""
        with httpx.Client(base_url=self.base_url, timeout=60,
                          headers={"x-auth-token": "admin:admin"}) as client:
            yield client
