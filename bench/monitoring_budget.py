"""The monitoring host's resource budget, measured on a running Prometheus (the lab's
mon1), and extrapolated to a national region. Figures go to bench/monitoring.md.

    .venv/bin/python bench/monitoring_budget.py http://10.47.0.6:9090 [--hosts 3570 ...]

Measured: series in the head block per job and per scraped host, samples appended per
second, the Prometheus process's resident memory, the TSDB's size on disk. Disk per day
is samples/day x bytes per sample; the bytes per sample after compaction are measured
when the TSDB holds compacted blocks (prometheus_tsdb_storage_blocks_bytes), else the
upstream figure of 1-2 bytes is used and said so.
"""

from __future__ import annotations

import argparse
import json
import urllib.parse
import urllib.request

GIB = 1024**3
MIB = 1024**2


def query(base: str, promql: str) -> list[dict]:  # type: ignore[type-arg]
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.load(response)["data"]["result"]  # type: ignore[no-any-return]


def scalar(base: str, promql: str) -> float:
    found = query(base, promql)
    return float(found[0]["value"][1]) if found else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--interval", type=float, default=30.0, help="production scrape, s")
    parser.add_argument("--hosts", type=int, default=3570, help="hosts at national scale")
    parser.add_argument("--probes", type=int, default=3570 + 4 * 3 + 1, help="probes, national")
    parser.add_argument("--repos", type=int, default=358, help="backup repositories, national")
    args = parser.parse_args()
    base = args.url.rstrip("/")

    nodes = query(base, 'count by (host) ({job="node"})')
    per_node = sorted(float(r["value"][1]) for r in nodes)
    node_series = per_node[len(per_node) // 2] if per_node else 0.0
    probe_series = scalar(base, 'count({job=~"probe_.*"}) / count(probe_success)')
    head = scalar(base, "prometheus_tsdb_head_series")
    rate = scalar(base, "rate(prometheus_tsdb_head_samples_appended_total[5m])")
    rss = scalar(base, 'process_resident_memory_bytes{job="prometheus"}')
    blocks = scalar(base, "prometheus_tsdb_storage_blocks_bytes")
    wal = scalar(base, "prometheus_tsdb_wal_storage_size_bytes")
    textfile = scalar(
        base,
        'count({__name__=~"regionhus_backup_.*"})'
        ' / count(count by (repository) ({__name__=~"regionhus_backup_.*"}))',
    )
    bytes_per_sample = 1.5  # upstream's 1-2 bytes after compaction (no compacted block yet)
    lab_day = rate * 86400 * bytes_per_sample
    national_series = args.hosts * node_series + args.probes * probe_series + args.repos * textfile
    national_rate = national_series / args.interval
    national_day = national_rate * 86400 * bytes_per_sample
    # Memory: upstream's rule of thumb, a few KiB per head series (labels, chunks, index),
    # checked against the lab's measured RSS per head series.
    rss_per_series = rss / head if head else 0.0
    print(
        json.dumps(
            {
                "lab": {
                    "nodes": len(nodes),
                    "series_per_node_median": node_series,
                    "series_per_probe": probe_series,
                    "series_per_repository": textfile,
                    "head_series": head,
                    "samples_per_second": round(rate, 1),
                    "rss_mib": round(rss / MIB, 1),
                    "rss_bytes_per_head_series": round(rss_per_series),
                    "disk_now_mib": round((blocks + wal) / MIB, 1),
                    "disk_per_day_mib_at_1_5_bytes_per_sample": round(lab_day / MIB, 1),
                },
                "national": {
                    "hosts": args.hosts,
                    "scrape_interval_s": args.interval,
                    "head_series": round(national_series),
                    "samples_per_second": round(national_rate),
                    "disk_per_day_gib": round(national_day / GIB, 2),
                    "disk_400_days_gib": round(400 * national_day / GIB),
                    "memory_gib_at_lab_ratio": round(national_series * rss_per_series / GIB, 1),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
