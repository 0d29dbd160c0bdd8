"""What the platform delivers to a municipality on a given date."""

from __future__ import annotations

import datetime as dt

from regionhus.config import load_region
from regionhus.model import ServiceName

DAY = dt.date(2026, 11, 25)


def test_active_member_gets_the_services_it_chose() -> None:
    region = load_region(on=DAY)
    kongsberg = region.kommune("kongsberg")
    assert kongsberg.service_state(ServiceName.VDI, DAY) == "active"
    assert region.kommune("tinn").service_state(ServiceName.VDI, DAY) == "none"


def test_planned_member_gets_nothing_before_it_joins() -> None:
    sigdal = load_region(on=DAY).kommune("sigdal")
    for service in ServiceName:
        assert sigdal.service_state(service, DAY) == "none"


def test_member_that_left_keeps_data_but_services_are_ended() -> None:
    eiker = load_region(on=DAY).kommune("ovre-eiker")
    assert eiker.service_state(ServiceName.DIRECTORY, DAY) == "ended"
    assert eiker.service_state(ServiceName.VDI, DAY) == "none"


def test_service_not_started_yet_is_not_delivered() -> None:
    kongsberg = load_region(on=DAY).kommune("kongsberg")
    assert kongsberg.service_state(ServiceName.VDI, dt.date(2015, 12, 31)) == "none"


def test_takes_lists_only_municipalities_with_the_service_active() -> None:
    region = load_region(on=DAY)
    assert [k.slug for k in region.takes(ServiceName.VDI)] == ["kongsberg", "notodden"]
    assert "ovre-eiker" not in [k.slug for k in region.takes(ServiceName.DIRECTORY)]
