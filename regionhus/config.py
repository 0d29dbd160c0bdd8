"""The region as one validated object: region.yml plus every kommuner/ file."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from regionhus.errors import InvalidConfiguration, RegionhusError
from regionhus.model import Kommune, Region, ServiceName
from regionhus.paths import repo_root
from regionhus.validate import validate_tree


def today() -> dt.date:
    """The date decisions are made for; REGIONHUS_TODAY pins it for tests and plans."""
    pinned = os.environ.get("REGIONHUS_TODAY")
    if not pinned:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(pinned)
    except ValueError as exc:
        raise RegionhusError(
            f"REGIONHUS_TODAY={pinned!r} is not a date; write YYYY-MM-DD or unset it"
        ) from exc


@dataclass(frozen=True)
class RegionConfig:
    root: Path
    region: Region
    kommuner: dict[str, Kommune]
    on: dt.date

    def kommune(self, slug: str) -> Kommune:
        try:
            return self.kommuner[slug]
        except KeyError:
            known = ", ".join(self.kommuner)
            raise RegionhusError(f"no municipality '{slug}' in kommuner/; known: {known}") from None

    def takes(self, service: ServiceName) -> list[Kommune]:
        """Municipalities for which `service` is delivered on `self.on`."""
        return [k for k in self.kommuner.values() if k.service_state(service, self.on) == "active"]


def load_region(root: Path | None = None, on: dt.date | None = None) -> RegionConfig:
    """Validate and load the region; raises InvalidConfiguration listing every problem."""
    root = (root or repo_root()).resolve()
    tree, findings = validate_tree(root)
    if findings or tree.region is None:
        raise InvalidConfiguration(findings)
    kommuner = {k.slug: k for k, _ in sorted(tree.kommuner.values(), key=lambda kd: kd[0].slug)}
    return RegionConfig(root=root, region=tree.region, kommuner=kommuner, on=on or today())
