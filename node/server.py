"""The node over HTTP: JSON-RPC 2.0 on ``POST /`` (aiohttp), interval mining,
and a clean stop on SIGINT or SIGTERM (the open block committed first).

aiohttp because it is a well-kept, production HTTP server that serves many
concurrent connections from one event loop: every request runs on that one
thread, one at a time, which is exactly the node's single-writer rule, with
no lock to forget. ``GET /`` answers what the node is (a health check).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from deed.vm.opcodes import LIMITS

from .rpc import dispatch_async
from .service import NodeService

# a request body holds at most a batch of a few largest transactions, in hex
MAX_BODY = 4 * (2 * LIMITS.max_tx_data + 4096)


def make_app(node: NodeService) -> web.Application:
    async def rpc(request: web.Request) -> web.Response:
        body = await request.read()
        out = await dispatch_async(node, body)
        if out is None:
            return web.Response(status=204)
        return web.Response(body=out, content_type="application/json")

    async def health(request: web.Request) -> web.Response:
        head = node.chain.head
        shown = {"name": "deed node", "chain_id": node.chain_id, "height": head.height}
        return web.json_response(shown | node.describe())

    async def snapshot(request: web.Request) -> web.StreamResponse:
        """A network node's chain file at its last agreed block (spec/network.md)."""
        with tempfile.TemporaryDirectory(prefix="deed-snapshot-") as where:
            path = Path(where) / "chain.db"
            height = node.export_snapshot(path)
            response = web.StreamResponse(headers={"X-Deed-Height": str(height)})
            await response.prepare(request)
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/", rpc)
    app.router.add_get("/", health)
    if hasattr(node, "export_snapshot"):
        app.router.add_get("/snapshot", snapshot)
    return app


async def run(node: NodeService, host: str, port: int, ready: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM; ``ready(url)`` once listening (port 0: any free port)."""
    runner = web.AppRunner(make_app(node), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound = runner.addresses[0]
    ready(f"http://{bound[0]}:{bound[1]}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(work) for work in node.background()]
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:  # one ended: a node that halted (its error goes up)
            if task.done():
                task.result()
    finally:
        for task in [stopped, *tasks]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # (an error of a task that ended was raised above)
        await runner.cleanup()
        node.close()
