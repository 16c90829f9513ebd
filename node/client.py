"""A small JSON-RPC 2.0 client for a Deed node (the command line's ``--rpc``).

Standard library only (``http.client``), one persistent connection per
client: not shared between threads.
"""

from __future__ import annotations

import http.client
import itertools
import json
from urllib.parse import urlsplit


class RpcError(Exception):
    """The node answered with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: object = None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class Unreachable(ConnectionError):
    """No node answers at the URL (or it answered something that is not JSON-RPC)."""


class RpcClient:
    def __init__(self, url: str, timeout: float = 60.0):
        parts = urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{url!r} is not an http://HOST:PORT address")
        self.url = f"http://{parts.hostname}:{parts.port or 80}"
        self._host, self._port, self._path = parts.hostname, parts.port or 80, parts.path or "/"
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._ids = itertools.count(1)

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        return self._conn

    def _post(self, body: bytes) -> bytes:
        headers = {"Content-Type": "application/json"}
        for attempt in (1, 2):  # once more on a fresh connection if a kept one was closed
            conn = self._connection()
            try:
                conn.request("POST", self._path, body, headers)
                response = conn.getresponse()
                return response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise Unreachable(f"the node at {self.url} closed the connection") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise Unreachable(f"no node answers at {self.url}: {reason}") from None
        raise AssertionError("unreachable")

    def call(self, method: str, *params: object, **named: object) -> object:
        """``method`` with positional or named parameters: its result, or RpcError."""
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method}
        if params or named:
            request["params"] = dict(named) if named else list(params)
        raw = self._post(json.dumps(request).encode())
        try:
            response = json.loads(raw)
        except ValueError:
            raise Unreachable(f"{self.url} answered something that is not JSON-RPC") from None
        if not isinstance(response, dict):
            raise Unreachable(f"{self.url} answered something that is not JSON-RPC")
        if "error" in response:
            e = response["error"]
            raise RpcError(e.get("code", 0), e.get("message", ""), e.get("data"))
        return response.get("result")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["RpcClient", "RpcError", "Unreachable"]
