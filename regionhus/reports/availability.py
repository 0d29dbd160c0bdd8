"""Measured availability per service and municipality, from the monitoring's Prometheus.

The monitoring records `regionhus:service_up{service, kommune}` (1 available, 0 not;
roles/monitoring's rules) at every rule evaluation. Over the report period the
availability is its average, and the period it covers is the number of evaluations
times the evaluation interval: a Prometheus that holds a week of a 90-day period says
so, rather than claiming the quarter.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from regionhus.inventory import REGION, Inventory, Role

SERIES = "regionhus:service_up"
# The directory is one service for every municipality: its measurement is the region's.
SHARED_SERVICES = {"directory"}
PROMETHEUS_URL_ENV = "REGIONHUS_PROMETHEUS_URL"
TIMEOUT_S = 20

Fetch = Callable[[str, dict[str, str]], dict[str, Any]]


@dataclass(frozen=True)
class Measured:
    percent: float  # share of the covered time the service was available
    covered_seconds: float
    period_seconds: float

    @property
    def coverage_percent(self) -> float:
        return min(100.0, 100.0 * self.covered_seconds / self.period_seconds)


@dataclass(frozen=True)
class Availability:
    """What Prometheus measured over [start, end], or why nothing was."""

    source: str
    start: dt.datetime
    end: dt.datetime
    measured: dict[tuple[str, str], Measured] = field(default_factory=dict)
    error: str | None = None

    def of(self, service: str, kommune: str) -> Measured | None:
        key = (service, REGION if service in SHARED_SERVICES else kommune)
        return self.measured.get(key)


def prometheus_url(inventory: Inventory, setting: str | None = None) -> str | None:
    """Where the audit reads availability: `setting` (else REGIONHUS_PROMETHEUS_URL) is a
    URL, or `auto` for the first monitoring host's Prometheus. Unset: not read (the
    report says "not measured"), so a report built away from the region's network never
    waits for an address it cannot reach."""
    setting = setting or os.environ.get(PROMETHEUS_URL_ENV)
    if not setting:
        return None
    if setting != "auto":
        return setting.rstrip("/")
    from regionhus.baselayer import monitoring_ports

    hosts = [h for h in inventory.hosts if Role.MONITORING in h.roles]
    if not hosts:
        return None
    return f"http://{hosts[0].address}:{monitoring_ports()['prometheus']}"


def http_fetch(base: str) -> Fetch:
    def fetch(path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            data: dict[str, Any] = json.load(response)
        return data

    return fetch


def _evaluation_interval(fetch: Fetch) -> float:
    config = yaml.safe_load(fetch("/api/v1/status/config", {})["data"]["yaml"])
    return _seconds(config["global"]["evaluation_interval"])


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    total, number = 0.0, ""
    rest = duration
    while rest:
        if rest[0].isdigit():
            number += rest[0]
            rest = rest[1:]
            continue
        unit = "ms" if rest.startswith("ms") else rest[0]
        total += int(number) * units[unit]
        number, rest = "", rest[len(unit) :]
    return total


def _vector(fetch: Fetch, query: str, at: dt.datetime) -> dict[tuple[str, str], float]:
    answer = fetch("/api/v1/query", {"query": query, "time": f"{at.timestamp():.3f}"})
    if answer.get("status") != "success":
        raise ValueError(answer.get("error", "query failed"))
    return {
        (r["metric"].get("service", ""), r["metric"].get("kommune", "")): float(r["value"][1])
        for r in answer["data"]["result"]
    }


def measure(source: str, fetch: Fetch, start: dt.datetime, end: dt.datetime) -> Availability:
    """Availability over [start, end] per (service, kommune); errors are reported, not
    raised (the rest of the report stands without it)."""
    period = (end - start).total_seconds()
    window = f"[{int(period)}s]"
    try:
        interval = _evaluation_interval(fetch)
        averages = _vector(fetch, f"avg_over_time({SERIES}{window})", end)
        counts = _vector(fetch, f"count_over_time({SERIES}{window})", end)
    except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError) as exc:
        return Availability(source, start, end, error=str(exc) or type(exc).__name__)
    measured = {
        key: Measured(
            percent=100.0 * value,
            covered_seconds=min(period, counts.get(key, 0.0) * interval),
            period_seconds=period,
        )
        for key, value in averages.items()
    }
    return Availability(source, start, end, measured)


def read_availability(
    inventory: Inventory, start: dt.datetime, end: dt.datetime, setting: str | None = None
) -> Availability | None:
    """From the region's Prometheus; None when not asked for or no monitoring host."""
    url = prometheus_url(inventory, setting)
    if url is None:
        return None
    return measure(url, http_fetch(url), start, end)
