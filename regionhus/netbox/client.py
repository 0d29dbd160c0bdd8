"""A small NetBox REST/GraphQL client with errors an operator can act on.

Not pynetbox: the seed needs bulk create/update in one request per chunk, the fast
loader needs one GraphQL call, and unit tests need to replay recorded responses
through the same code. A `Transport` is the only thing that touches the network.
Measured against pynetbox on the national NetBox (bench/netbox.md, "pynetbox for the
REST work?"): no slower for any list; the journal entries (regionhus/netbox/journal.py)
do use pynetbox.
"""

from __future__ import annotations

import builtins
import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from regionhus.errors import RegionhusError

JSON = Any
BULK_PARALLEL = 2
# A NetBox that is down or behind a dead link is named within seconds; a slow answer
# (a national bulk seed) may take minutes. REGIONHUS_NETBOX_TIMEOUT (seconds) bounds
# the wait for one answer.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 600.0


def read_timeout() -> float:
    text = os.environ.get("REGIONHUS_NETBOX_TIMEOUT", "").strip()
    try:
        return float(text) if text else READ_TIMEOUT
    except ValueError:
        raise NetBoxError(
            f"REGIONHUS_NETBOX_TIMEOUT={text!r} is not a number of seconds; unset it or "
            f"write e.g. 120"
        ) from None


class NetBoxError(RegionhusError):
    """NetBox could not be used; the message says why and what to do."""


class NetBoxUnreachable(NetBoxError):
    pass


class NetBoxAuthError(NetBoxError):
    pass


@dataclass(frozen=True)
class Response:
    status: int
    body: JSON


Transport = Callable[[str, str, dict[str, str], JSON], Response]


def requests_transport(timeout: float | None = None) -> Transport:
    # One session per thread: the loader fetches pages concurrently.
    local = threading.local()
    limits = (CONNECT_TIMEOUT, timeout if timeout is not None else read_timeout())

    def send(method: str, url: str, headers: dict[str, str], body: JSON) -> Response:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        resp = session.request(method, url, headers=headers, json=body, timeout=limits)
        try:
            data = resp.json() if resp.content else None
        except ValueError:
            data = {"detail": resp.text[:500]}
        return Response(resp.status_code, data)

    return send


class Recorder:
    """Wraps a transport and keeps every exchange, to write unit-test fixtures."""

    def __init__(self, inner: Transport, base_url: str) -> None:
        self.inner, self.base_url = inner, base_url
        self.exchanges: list[dict] = []

    def __call__(self, method: str, url: str, headers: dict[str, str], body: JSON) -> Response:
        resp = self.inner(method, url, headers, body)
        self.exchanges.append(
            {
                "method": method,
                "path": url.removeprefix(self.base_url),
                "request": body,
                "status": resp.status,
                "response": resp.body,
            }
        )
        return resp

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.exchanges, indent=1, sort_keys=True) + "\n")


class Replay:
    """Answers from recorded exchanges: no NetBox needed.

    Requests are matched on method, path and body (GraphQL pages differ only in their
    variables, and the loader sends them concurrently, so order alone cannot match them).
    The last answer for a request is repeated, so a test may load twice.
    """

    def __init__(self, path: Path, base_url: str = "http://netbox.invalid") -> None:
        self.base_url = base_url
        self.queue: dict[tuple[str, str, str], list[dict]] = {}
        for ex in json.loads(path.read_text()):
            self.queue.setdefault(self._key(ex["method"], ex["path"], ex["request"]), []).append(ex)
        self.lock = threading.Lock()

    @staticmethod
    def _key(method: str, path: str, body: JSON) -> tuple[str, str, str]:
        return (method, path, json.dumps(body, sort_keys=True))

    def __call__(self, method: str, url: str, headers: dict[str, str], body: JSON) -> Response:
        key = self._key(method, url.removeprefix(self.base_url), body)
        with self.lock:
            pending = self.queue.get(key)
            if not pending:
                raise AssertionError(f"no recorded response for {key}")
            ex = pending.pop(0) if len(pending) > 1 else pending[0]
        return Response(ex["status"], ex["response"])


class NetBoxClient:
    def __init__(self, url: str, token: str, transport: Transport | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.transport = transport or requests_transport()

    def _headers(self) -> dict[str, str]:
        # v2 tokens (nbt_<key>.<secret>) go as Bearer; legacy v1 tokens as Token.
        scheme = "Bearer" if self.token.startswith("nbt_") else "Token"
        return {"Authorization": f"{scheme} {self.token}", "Accept": "application/json"}

    def request(self, method: str, path: str, body: JSON = None) -> JSON:
        url = path if path.startswith("http") else f"{self.url}{path}"
        try:
            resp = self.transport(method, url, self._headers(), body)
        except requests.ConnectionError as exc:
            raise NetBoxUnreachable(
                f"NetBox at {self.url} is unreachable ({type(exc).__name__}). Start it "
                f"(`regionhus netbox up`) or fix REGIONHUS_NETBOX_URL; the embedded "
                f"inventory is NOT used instead while NetBox is configured"
            ) from None
        except requests.Timeout:
            raise NetBoxUnreachable(
                f"NetBox at {self.url} did not answer in time ({method} {path}; connect "
                f"{CONNECT_TIMEOUT:g} s, answer REGIONHUS_NETBOX_TIMEOUT, default "
                f"{READ_TIMEOUT:g} s): is it stopped, overloaded or cut off? Rerun when "
                f"its web page answers; the embedded inventory is NOT used instead"
            ) from None
        if resp.status in (401, 403):
            detail = resp.body.get("detail") if isinstance(resp.body, dict) else resp.body
            raise NetBoxAuthError(
                f"NetBox at {self.url} refused the token ({resp.status}: {detail}). Check "
                f"REGIONHUS_NETBOX_TOKEN (a v2 token looks like nbt_<key>.<secret>; "
                f"`regionhus netbox status` shows the local one)"
            )
        if resp.status >= 400:
            raise NetBoxError(
                f"NetBox {method} {path} failed ({resp.status}): {json.dumps(resp.body)[:1500]}"
            )
        return resp.body

    def get(self, path: str) -> JSON:
        return self.request("GET", path)

    def list(self, path: str, page: int = 1000) -> Iterator[dict]:
        sep = "&" if "?" in path else "?"
        url: str | None = f"{path}{sep}limit={page}"
        while url:
            data = self.get(url)
            yield from data["results"]
            url = data.get("next")

    def graphql(self, query: str, variables: dict | None = None) -> JSON:
        data = self.request("POST", "/graphql/", {"query": query, "variables": variables or {}})
        if data.get("errors"):
            raise NetBoxError(f"NetBox GraphQL error: {data['errors'][0].get('message')}")
        return data["data"]

    # builtins.list: in this class, `list` is the method below.
    def bulk(
        self, method: str, path: str, items: builtins.list[dict], chunk: int = 100
    ) -> builtins.list[dict]:
        """Bulk create (POST) or update (PATCH): one request per chunk, two in flight.

        NetBox still saves bulk objects one by one (~0.1 s each with change logging and
        search indexing), so small chunks keep each request far from any timeout and
        two at a time keep both gunicorn workers busy.
        """
        chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        with ThreadPoolExecutor(max_workers=BULK_PARALLEL) as pool:
            results = list(pool.map(lambda part: self.request(method, path, part), chunks))
        return [rec for part in results for rec in part]
