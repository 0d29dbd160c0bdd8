"""`regionhus kommune new <slug>`: a new, planned municipality file with every key explained."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from regionhus.errors import RegionhusError
from regionhus.kommune.lifecycle import add_months
from regionhus.model import SLUG_PATTERN

TEMPLATE = """\
# {name} kommune: valg i det regionale huset.
# Planlagt inntreden {member_from}: kommunen får ingenting i plattformen før den datoen.
# Laget av `regionhus kommune new`; endres ved pull request. Alle nøkler er forklart;
# ukjente nøkler avvises (en skrivefeil stopper i review, ikke i drift).

# Kommunens navn (uten «kommune») og kortnavn. Kortnavnet er filnavnet og brukes i
# gruppenavn ({slug}-admins), backup-repository og NetBox-tenant; det endres aldri.
name: {name}
slug: {slug}          # = filnavnet kommuner/{slug}.yml
# Kortkode (2-9 tegn, unik i regionen): vertsnavnene blir vdi-{code}-1, srv-{code}-1 osv.
# (maks 15 tegn, NetBIOS). Endres ikke etter at vertene finnes.
code: {code}
# Kommunenummeret fra SSB, fire sifre i anførselstegn (ellers leser YAML 0301 som et tall).
kommunenummer: "{kommunenummer}"
# Innbyggertall: grunnlaget for den delen av kostnaden som fordeles per innbygger.
population: {population}

lifecycle:              # medlemskapet
  # planned | active | leaving | left. Datoene styrer: fra member_from leveres
  # tjenestene (også om status fortsatt er planned); fra member_until (status leaving
  # eller left) stenges alt, og data beholdes til `regionhus kommune purge`.
  status: planned
  # Første dag som medlem. Kostnaden fordeles per påbegynte medlemsmåned.
  member_from: {member_from}
  # member_until: YYYY-MM-DD   # første dag som ikke-medlem; settes når utmelding er vedtatt

services:               # tjenestene kommunen tar fra det regionale huset
  # Hver tjeneste leveres fra `from` (tidligst member_from) og eventuelt til `until`.
  # Fjern en tjeneste kommunen ikke skal ha.
  # Egen OU i regionens AD, admin-gruppe med delegert administrasjon, VDI-gruppe.
  directory:
    from: {member_from}
  # Virtuelle skrivebord; sesjonsvertene registreres i NetBox med kommunen som tenant.
  vdi:
    from: {member_from}
    pool_size: 1          # antall sesjonsverter (1-50)
  # Krypterte, tilføyingsbeskyttede sikkerhetskopier i kommunens eget repository.
  backup:
    from: {member_from}
    schedule:             # når sikkerhetskopien tas
      every_hours: 24     # hvor ofte: 1, 2, 3, 4, 6, 8, 12 eller 24 timer
      at: "02:00"         # første kjøring på døgnet, "HH:MM" i anførselstegn
    retention:            # hvor mange arkiver som beholdes; også hvor lenge data beholdes
      daily: 14           # etter utmelding før de kan slettes (den lengste av disse)
      weekly: 8
      monthly: 12
      yearly: 0
    quota_gb: 100         # øvre grense for repositoryet, i GB

# Nettene kommunens brukere sitter i (IPv4 med prefiks, private adresser): portene på
# kommunens egne servere er åpne herfra og fra regionens driftsnett, ikke fra andre.
# Må ikke overlappe andre kommuners nett.
client_networks: []
#  - 10.120.0.0/22

# Vedlikeholdsvindu for kommunens egne verter: oppdateringer installeres og verten
# startes om ved behov innenfor vinduet.
update_window:
  days: [tue]           # mon, tue, wed, thu, fri, sat, sun
  start: "03:00"        # "HH:MM" i anførselstegn
  hours: 2              # vinduets lengde i timer (1-8)

# Hvem i kommunen som får varsler fra overvåkingen om kommunens del (VDI-pool, egne
# servere, backup-repository); regional drift får alle varsler uansett. Minst én
# e-postadresse eller webhook (https) når nøkkelen er med.
# alerts:
#   email: [driftsvakt@{slug}.kommune.no]
#   webhook: [https://varsling.{slug}.kommune.no/regionhus]

# Kommunens egne IT-ansatte med delegert administrasjon av kommunens del (AD-konto i
# kommunens OU, medlem av {slug}-admins, innlogging på kommunens egne servere).
# Den som drifter flere kommuner hører hjemme i region.yml under regional_operators.
# En som fjernes herfra får AD-kontoen sperret og serverkontoene låst ved neste apply.
operators: []
#  - username: abc.fornavn            # 2-20 tegn: små bokstaver, sifre, '.' eller '-'
#    name: Fornavn Etternavn
#    email: fornavn.etternavn@{slug}.kommune.no
#    ssh_public_key: ssh-ed25519 AAAA... fornavn@laptop   # valgfri: én linje fra en .pub-fil
"""


def default_name(slug: str) -> str:
    """nore-og-uvdal -> Nore og Uvdal (small words stay small, as in Norwegian names)."""
    small = {"og", "i", "på"}
    words = slug.split("-")
    return " ".join(w if i and w in small else w.capitalize() for i, w in enumerate(words))


def default_member_from(today: dt.date) -> dt.date:
    """The first day of the month after next: time for review and a NetBox tenant."""
    return add_months(today.replace(day=1), 2)


def default_code(slug: str) -> str:
    """kongsberg -> kongsberg, nore-og-uvdal -> nou: the slug when it fits 9 characters,
    else the first letter of each word (validation refuses a code already taken)."""
    joined = slug.replace("-", "")
    if len(joined) <= 9:
        return joined
    initials = "".join(word[0] for word in slug.split("-"))
    return initials if len(initials) >= 2 else joined[:9]


def render(
    slug: str,
    name: str,
    kommunenummer: str,
    population: int,
    member_from: dt.date,
    code: str | None = None,
) -> str:
    return TEMPLATE.format(
        slug=slug,
        code=code or default_code(slug),
        name=name,
        kommunenummer=kommunenummer,
        population=population,
        member_from=member_from.isoformat(),
    )


def write_new(root: Path, slug: str, text: str) -> Path:
    import re

    if not re.fullmatch(SLUG_PATTERN, slug):
        raise RegionhusError(
            f"'{slug}' is not a slug: write lower-case letters, digits and single hyphens, "
            "e.g. nore-og-uvdal"
        )
    path = root / "kommuner" / f"{slug}.yml"
    if path.exists():
        raise RegionhusError(f"{path} exists already; edit it, or choose another slug")
    path.write_text(text, encoding="utf-8")
    return path


def next_steps(slug: str, path: Path, member_from: dt.date) -> list[str]:
    return [
        f"1. Fyll inn operatørene i {path.name} og kjør `regionhus validate`.",
        f"2. NetBox: opprett tenant «{slug}» (`regionhus netbox seed` gjør det fra kommuner/) "
        "og registrer kommunens sesjonsverter med den som tenant.",
        f"3. Pull request med {path.relative_to(path.parent.parent)} til review; planen i PR-en "
        f"viser ingen endring før {member_from}.",
        f"4. Fra {member_from}: `regionhus plan --kommune {slug}` viser OU, grupper, "
        "delegering og backup-repository; `regionhus apply` lager dem.",
    ]
