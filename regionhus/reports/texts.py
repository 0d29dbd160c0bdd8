"""Every word the audit report shows, in bokmål (default) and English.

Keys are English identifiers; a key missing in one language fails the unit test
rather than showing a raw key to an auditor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

LANGS = ("nb", "en")

TEXTS: dict[str, tuple[str, str]] = {
    # titles and sections
    "title_region": ("Revisjonsrapport for {region}", "Audit report for {region}"),
    "title_kommune": ("Revisjonsrapport for {kommune} kommune", "Audit report for {kommune}"),
    "subtitle": (
        "Hva som kjører for kommunene i det regionale huset, hvem som kan nå det, "
        "hvordan det sikkerhetskopieres og hva det koster.",
        "What runs for the municipalities in the regional house, who can reach it, "
        "how it is backed up and what it costs.",
    ),
    "about": ("Om rapporten", "About this report"),
    "generated_at": ("Laget", "Generated"),
    "report_date": ("Rapportdato", "Report date"),
    "period": ("Periode for endringer", "Period for changes"),
    "inventory_source": ("Kilde for verter", "Host source"),
    "records_dir": ("Registreringer lest fra", "Records read from"),
    "contents": ("Innhold", "Contents"),
    "findings": ("Funn", "Findings"),
    "no_findings": ("Ingen funn.", "No findings."),
    "findings_summary": (
        "{critical} kritiske, {warning} advarsler, {info} til informasjon",
        "{critical} critical, {warning} warnings, {info} for information",
    ),
    "overview": ("Oversikt over kommunene", "Municipalities at a glance"),
    "diagram": ("Regionen som diagram", "The region as a diagram"),
    "diagram_caption": (
        "Det regionale huset med felles verter øverst; kommunene med egne verter under. "
        "Linjene viser hvilke felles verter som betjener hvilken kommune.",
        "The regional house with its shared hosts at the top; the municipalities with "
        "their own hosts below. Lines show which shared hosts serve which municipality.",
    ),
    "regional_house": ("Det regionale huset", "The regional house"),
    "all_hosts": ("Alle verter", "All hosts"),
    "costs": ("Kostnadsfordeling {year}", "Cost allocation {year}"),
    "cost_inputs": ("Grunnlag", "Inputs"),
    "months": ("Måneder", "Months"),
    "calculation": ("Utregning", "Calculation"),
    "cost_prorated": ("Medlem deler av året", "Members for part of the year"),
    "cost_prorated_method": (
        "En kommune som går inn eller ut i løpet av året betaler for sine medlemsmåneder "
        "(påbegynt måned teller helt): vekt i fast andel = måneder/12, i innbyggerandelen "
        "innbyggere × måneder/12, så hele årets kostnad fordeles. Bruk faktureres for "
        "månedene tjenesten ble levert: pris × måneder/12. Summen av medlemsmåneder er "
        "{member_months}, av innbyggermåneder {inhabitant_months}.",
        "A municipality that joins or leaves during the year pays for its months of "
        "membership (a started month counts whole): weight in the fixed share = months/12, "
        "in the per-inhabitant share population × months/12, so the whole year is split. "
        "Usage is charged for the months the service was delivered: price × months/12. "
        "Member-months add up to {member_months}, inhabitant-months to {inhabitant_months}.",
    ),
    "cost_method": (
        "Fast andel deles likt mellom kommunene som er medlemmer i året (aktive eller på vei "
        "ut); andelen per innbygger fordeles etter folketall. Bruk kommer i tillegg: "
        "VDI-plasser = poolstørrelse × pris per plass, sikkerhetskopi = kvote (GB) × pris "
        "per GB, for tjenester som leveres på rapportdatoen. Eksakte andeler er avrundet "
        "til hele kroner etter største-rest-metoden, slik at hver kolonne summerer nøyaktig.",
        "The fixed share is split equally between the municipalities that are members in "
        "the year (active or leaving); the per-inhabitant share by population. Usage comes "
        "on top: VDI seats = pool size × price per seat, backup = quota (GB) × price per GB, "
        "for services delivered on the report date. Exact shares are rounded to whole "
        "kroner by the largest-remainder method, so each column adds up exactly.",
    ),
    "lifecycle": ("Medlemskap og tjenester", "Membership and services"),
    "hosts": ("Verter", "Hosts"),
    "vdi_pool": ("VDI-pool", "VDI pool"),
    "admin_rights": ("Administrative rettigheter", "Administrative rights"),
    "backup": ("Sikkerhetskopiering", "Backup"),
    "changes": ("Endringer i perioden", "Changes in the period"),
    "cost_share": ("Kostnadsandel", "Cost share"),
    "no_changes": ("Ingen endringer registrert i perioden.", "No changes recorded in the period."),
    "no_services": ("Tar ingen tjenester.", "Takes no services."),
    "no_hosts": ("Ingen verter.", "No hosts."),
    # field labels
    "kommune": ("Kommune", "Municipality"),
    "kommunenummer": ("Kommunenummer", "Municipality number"),
    "population": ("Innbyggere", "Inhabitants"),
    "status": ("Status", "Status"),
    "member_from": ("Medlem fra", "Member from"),
    "member_until": ("Medlem til", "Member until"),
    "service": ("Tjeneste", "Service"),
    "from": ("Fra", "From"),
    "until": ("Til", "Until"),
    "state_today": ("Tilstand på rapportdatoen", "State on the report date"),
    "responsible": ("Ansvarlig kommune", "Responsible municipality"),
    "sla": ("SLA", "SLA"),
    "sla_value": (
        "{availability} % oppetid, svar innen {response} t",
        "{availability} % uptime, response within {response} h",
    ),
    "host": ("Vert", "Host"),
    "fqdn": ("Fullt navn", "FQDN"),
    "address": ("Adresse", "Address"),
    "roles": ("Roller", "Roles"),
    "serves": ("Betjener", "Serves"),
    "site": ("Sted", "Site"),
    "tags": ("Tagger", "Tags"),
    "kind": ("Type", "Kind"),
    "own_host": ("egen", "own"),
    "shared_host": ("felles", "shared"),
    "serves_region": ("regionen (felles)", "the region (shared)"),
    "declared": ("Erklært", "Declared"),
    "present": ("I inventaret", "In the inventory"),
    "username": ("Brukernavn", "Username"),
    "name": ("Navn", "Name"),
    "origin": ("Grunnlag", "Basis"),
    "origin_kommune": ("kommunens operatør", "municipality's operator"),
    "origin_region": ("regional operatør (K-IKT)", "regional operator (K-IKT)"),
    "in_group": ("I gruppen", "In the group"),
    "removed_operators": (
        "Fjernede operatører (ikke lenger i kommuner/; AD-kontoen sperret, serverkontoer låst)",
        "Removed operators (no longer in kommuner/; AD account disabled, host accounts locked)",
    ),
    "removed_on": ("fjernet og sperret {day}", "removed and disabled {day}"),
    "group": ("Gruppe", "Group"),
    "regional_rights": (
        "Regionale operatører har rettigheter gjennom {group}, delegert på {ou} "
        "(alle kommunenes OU-er); de er ikke medlemmer av kommunens egen gruppe.",
        "Regional operators hold rights through {group}, delegated on {ou} "
        "(every municipality's OU); they are not members of the municipality's own group.",
    ),
    "yes": ("ja", "yes"),
    "no": ("nei", "no"),
    "extra_member": ("ikke erklært", "not declared"),
    "admin_group": ("Administratorgruppe", "Admin group"),
    "read_from": ("Lest fra {source} {read_at}", "Read from {source} {read_at}"),
    "not_read": ("ikke lest fra katalogen", "not read from the directory"),
    "not_read_long": (
        "Medlemskapet er ikke lest fra katalogen: ingen registrering finnes. Rapporten viser "
        "bare hvem som er erklært, ikke hvem som faktisk har rettigheter.",
        "Membership was not read from the directory: no record exists. The report shows "
        "only who is declared, not who actually holds rights.",
    ),
    "schedule": ("Plan", "Schedule"),
    "schedule_value": ("hver {every}. time fra kl. {at}", "every {every} h from {at}"),
    "retention": ("Oppbevaring", "Retention"),
    "retention_value": (
        "{daily} daglige, {weekly} ukentlige, {monthly} månedlige, {yearly} årlige",
        "{daily} daily, {weekly} weekly, {monthly} monthly, {yearly} yearly",
    ),
    "quota": ("Kvote", "Quota"),
    "repository": ("Arkivlager", "Repository"),
    "newest_archive": ("Nyeste arkiv", "Newest archive"),
    "archive_age": ("{hours} timer gammelt", "{hours} hours old"),
    "last_drill": ("Siste gjenopprettingsøvelse", "Last restore drill"),
    "drill_value": (
        "{when}: {result}, {files} filer, {size}, {duration} s (arkiv {archive})",
        "{when}: {result}, {files} files, {size}, {duration} s (archive {archive})",
    ),
    "drill_policy": (
        "Krav: øvelse minst hver {days}. dag, gjenoppretting innen {hours} t (SLA)",
        "Policy: a drill at least every {days} days, restore within {hours} h (SLA)",
    ),
    "drill_count": ("Øvelser registrert", "Drills recorded"),
    "none_recorded": ("ingen registrert", "none recorded"),
    "result_pass": ("bestått", "passed"),
    "result_fail": ("feilet", "failed"),
    "apply_id": ("Kjøring", "Run"),
    "who": ("Hvem", "Who"),
    "started": ("Startet", "Started"),
    "finished": ("Ferdig", "Finished"),
    "commit": ("Git-commit", "Git commit"),
    "change": ("Endring", "Change"),
    "member": ("Medlem i året", "Member in the year"),
    "fixed_share": ("Fast andel", "Fixed share"),
    "per_inhabitant_share": ("Andel etter folketall", "Per-inhabitant share"),
    "exact": ("eksakt", "exact"),
    "vdi_seats": ("VDI-plasser", "VDI seats"),
    "vdi_cost": ("VDI (kr)", "VDI (NOK)"),
    "backup_gb": ("Kopi (GB)", "Backup (GB)"),
    "backup_cost": ("Kopi (kr)", "Backup (NOK)"),
    "total": ("Sum", "Total"),
    "sum_row": ("Sum", "Total"),
    "annual_cost": ("Årlig kostnad for det regionale huset", "Annual cost of the regional house"),
    "fixed_percent": ("Fast andel", "Fixed share"),
    "per_inhabitant_percent": ("Andel etter folketall", "Per-inhabitant share"),
    "member_count": ("Medlemmer i året", "Members in the year"),
    "member_population": ("Innbyggere i medlemskommunene", "Inhabitants of the members"),
    "vdi_price": ("Pris per VDI-plass og år", "Price per VDI seat and year"),
    "backup_price": ("Pris per GB sikkerhetskopi og år", "Price per GB of backup and year"),
    "sum_check": (
        "Kontroll: {annual} (årlig kostnad) + {usage} (bruk) = {total}",
        "Check: {annual} (annual cost) + {usage} (usage) = {total}",
    ),
    "severity": ("Alvorlighet", "Severity"),
    "code": ("Kode", "Code"),
    "message": ("Beskrivelse", "Description"),
    "section": ("Del", "Section"),
    "region_wide": ("regionen", "the region"),
    "kr": ("kr", "NOK"),
    # column labels used in CSV only
    "read_at_label": ("Lest fra katalogen", "Read from the directory"),
    "newest_archive_time_label": ("Nyeste arkiv, tidspunkt", "Newest archive, time"),
    "archive_age_label": ("Alder på nyeste arkiv (timer)", "Age of newest archive (hours)"),
    "drill_result_label": ("Resultat av siste øvelse", "Result of last drill"),
    "drill_files_label": ("Filer gjenopprettet", "Files restored"),
    "drill_bytes_label": ("Byte gjenopprettet", "Bytes restored"),
    "drill_duration_label": ("Varighet (s)", "Duration (s)"),
    "drill_detail_label": ("Detaljer", "Detail"),
    "drill_policy_label": ("Krav: øvelse minst hver N. dag", "Policy: a drill every N days"),
    "value_label": ("Verdi", "Value"),
    "year_label": ("År", "Year"),
    # enumerations
    "status_planned": ("planlagt", "planned"),
    "status_active": ("aktiv", "active"),
    "status_leaving": ("på vei ut", "leaving"),
    "status_left": ("gått ut", "left"),
    "state_active": ("leveres", "delivered"),
    "state_ended": ("avsluttet (data beholdes)", "ended (data kept)"),
    "state_none": ("ikke tatt i bruk", "not taken"),
    "severity_critical": ("KRITISK", "CRITICAL"),
    "severity_warning": ("ADVARSEL", "WARNING"),
    "severity_info": ("INFO", "INFO"),
    "service_directory": ("Katalogtjeneste", "Directory"),
    "service_vdi": ("VDI", "VDI"),
    "service_backup": ("Sikkerhetskopiering", "Backup"),
    "role_directory": ("katalog", "directory"),
    "role_backup": ("sikkerhetskopi", "backup"),
    "role_vdi": ("VDI", "VDI"),
    "role_server": ("kommunens server", "municipal server"),
    "role_gateway": ("portvert (VDI-megler)", "gateway (VDI broker)"),
    "role_monitoring": ("overvåking", "monitoring"),
    # findings
    "f_admin_not_read": (
        "Administratorgruppen er ikke lest fra katalogen (ingen registrering i {path}).",
        "The admin group was not read from the directory (no record at {path}).",
    ),
    "f_admin_extra": (
        "{user} er medlem av {group}, men er ikke erklært operatør.",
        "{user} is a member of {group} but is not a declared operator.",
    ),
    "f_admin_missing": (
        "Erklært operatør {user} er ikke medlem av {group}.",
        "Declared operator {user} is not a member of {group}.",
    ),
    "f_backup_no_client": (
        "Ingen vert i inventaret tar sikkerhetskopi til kommunens depot ennå (ingen "
        "VDI-vert); det er ingenting å kopiere eller gjenopprette.",
        "No host in the inventory backs up to the municipality's repository yet (no VDI "
        "host); there is nothing to copy or restore.",
    ),
    "f_regional_not_read": (
        "Den regionale gruppen {group} er ikke lest fra katalogen (ingen registrering i "
        "{path}): regionale operatørers rettigheter i kommunene er ikke bekreftet.",
        "The regional group {group} was not read from the directory (no record at {path}): "
        "the regional operators' rights in the municipalities are not confirmed.",
    ),
    "f_admin_stale": (
        "Katalogen ble sist lest {read_at}, {days} dager før rapportdatoen.",
        "The directory was last read {read_at}, {days} days before the report date.",
    ),
    "f_vdi_mismatch": (
        "VDI-pool: {declared} sesjonsverter erklært, {present} i inventaret.",
        "VDI pool: {declared} session hosts declared, {present} in the inventory.",
    ),
    "f_backup_no_record": (
        "Ingen registrering av nyeste sikkerhetskopi (ventet {path}).",
        "No record of the newest backup (expected {path}).",
    ),
    "f_availability_below_sla": (
        "{service}: målt tilgjengelighet {measured} % er under avtalt {sla} % "
        "(målingen dekker {coverage} % av perioden).",
        "{service}: measured availability {measured} % is below the agreed {sla} % "
        "(the measurement covers {coverage} % of the period).",
    ),
    "f_availability_not_measured": (
        "Tilgjengeligheten kunne ikke leses fra overvåkingen ({source}): {error}",
        "Availability could not be read from the monitoring ({source}): {error}",
    ),
    "measured": ("Målt", "Measured"),
    "measured_value": (
        "{measured} % (dekker {coverage} % av perioden)",
        "{measured} % (covers {coverage} % of the period)",
    ),
    "not_measured": ("ikke målt", "not measured"),
    "f_backup_stale": (
        "Nyeste sikkerhetskopi er {hours} timer gammel; planen er hver {every}. time.",
        "The newest backup is {hours} hours old; the schedule is every {every} h.",
    ),
    "f_drill_missing": (
        "Ingen gjenopprettingsøvelse er registrert.",
        "No restore drill has been recorded.",
    ),
    "f_drill_failed": (
        "Siste gjenopprettingsøvelse ({when}) feilet: {detail}",
        "The last restore drill ({when}) failed: {detail}",
    ),
    "f_drill_old": (
        "Siste gjenopprettingsøvelse er {days} dager gammel; kravet er minst hver {max} dag.",
        "The last restore drill is {days} days old; the policy is at least every {max} days.",
    ),
    "f_drill_slow": (
        "Gjenopprettingen tok {hours} t, mer enn SLA-kravet på {sla} t.",
        "The restore took {hours} h, more than the SLA's {sla} h.",
    ),
    "f_shared_missing": (
        "Ingen felles vert med rollen {role}, men {count} kommune(r) tar tjenesten.",
        "No shared host with role {role}, yet {count} municipality(ies) take the service.",
    ),
    "f_record_broken": (
        "Registreringen {path} kan ikke leses: {reason}",
        "The record {path} cannot be read: {reason}",
    ),
}


@dataclass(frozen=True)
class Texts:
    lang: str

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(f"unknown language {self.lang!r}; use one of {', '.join(LANGS)}")

    def t(self, key: str, **params: object) -> str:
        text = TEXTS[key][LANGS.index(self.lang)]
        return text.format(**params) if params else text

    def enum(self, kind: str, value: str) -> str:
        return self.t(f"{kind}_{value}")

    def measured(self, percent: float | None, coverage: float | None) -> str:
        """A measured availability with how much of the period it covers."""
        if percent is None:
            return self.t("not_measured")
        return self.t(
            "measured_value", measured=self.num(percent, 2), coverage=self.coverage(coverage)
        )

    def coverage(self, coverage: float | None) -> str:
        """How much of the period a measurement covers."""
        coverage = coverage or 0.0
        # A new monitoring host covers a sliver of a quarter: show it, not "0.0 %".
        return self.num(coverage, 1 if coverage >= 1 else 3)

    def num(self, value: float, decimals: int = 0) -> str:
        """Thousands grouped as each language writes them: 4 200 000 / 4,200,000."""
        text = f"{value:,.{decimals}f}"
        if self.lang == "nb":
            # Norwegian: thin no-break space for thousands, comma for decimals.
            return text.replace(",", "\u202f").replace(".", ",")
        return text

    def kr(self, value: int) -> str:
        return f"{self.num(value)} {self.t('kr')}"

    def when(self, value: dt.datetime | dt.date | None) -> str:
        """ISO dates and UTC times: unambiguous for auditors in any country."""
        if value is None:
            return "–"
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return value.isoformat()

    def size(self, n_bytes: int) -> str:
        units = ("B", "KiB", "MiB", "GiB", "TiB")
        value = float(n_bytes)
        for unit in units:
            if value < 1024 or unit == units[-1]:
                return f"{self.num(value, 0 if unit == 'B' else 1)} {unit}"
            value /= 1024
        raise AssertionError("unreachable")
