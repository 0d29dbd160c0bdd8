"""The exit package's README, in Norwegian: what is in it and how to open it."""

from __future__ import annotations

from typing import Any

from regionhus.model import Kommune


def readme(kommune: Kommune, meta: dict[str, Any]) -> str:
    directory = meta.get("directory") or {}
    backup = meta.get("backup") or {}
    lines = [
        f"# Utleveringspakke: {kommune.name} kommune",
        "",
        f"Laget {meta['created_at']} av `regionhus kommune export {kommune.slug}` fra det "
        f"regionale huset (commit {meta['git_commit'][:12]}). Pakken inneholder bare "
        f"{kommune.name} kommunes egne data.",
        "",
        "## Kontroller at pakken er hel",
        "",
        "```sh",
        "sha256sum -c SHA256SUMS      # hver fil skal gi OK",
        "```",
        "",
        "`MANIFEST.json` har det samme, med størrelse på hver fil og hva som ble eksportert.",
        "",
        "## Innhold",
        "",
        f"- `kommune/{kommune.slug}.yml`: kommunens valg slik de ble vedtatt (tjenester, "
        "datoer, operatører).",
        "- `kommune/inventory.json`: kommunens egne servere, de felles serverne som har "
        "kommunens data, og tjenestenes tilstand.",
    ]
    if directory.get("exists"):
        lines += [
            f"- `directory/ou.ldif`: kommunens OU i regionens Active Directory "
            f"({directory['ou']}), {directory['objects']} objekter, uten passord eller "
            "passord-hasher. Kan leses inn "
            "i en annen katalog med `ldapadd`/`ldbadd` etter at DN-ene er byttet til den nye "
            "katalogens.",
            "- `directory/users.csv`, `groups.csv`, `memberships.csv`, `computers.csv`: det "
            "samme som regneark (UTF-8).",
        ]
        if directory.get("left_out_references_outside_ou"):
            lines.append(
                f"  {directory['left_out_references_outside_ou']} henvisninger til objekter "
                "utenfor kommunens OU (f.eks. felles grupper) er utelatt."
            )
    else:
        lines.append("- `directory/`: kommunen har ingen OU i katalogen.")
    lines += [
        "- `audit/report/`: kommunens revisjonsrapport (HTML, Markdown, JSON og CSV).",
        "- `audit/records/`: bevisene rapporten bygger på: lesing av admin-gruppen, "
        "siste sikkerhetskopi, gjenopprettingsøvelser og utdrag av endringslogger.",
    ]
    if backup.get("repository"):
        lines += [
            f"- `backup/repository/`: en kopi av kommunens BorgBackup-repository "
            f"({backup['archives']} arkiver), kryptert (repokey-blake2).",
            "- `backup/passphrase.txt`: passordfrasen. **Oppbevar den som et passord.**",
            "- `backup/key.txt`: nøkkelen eksportert for seg (ligger også i repositoryet).",
            "- `backup/archives.json`: arkivene i repositoryet da kopien ble tatt.",
            "",
            "## Åpne sikkerhetskopien",
            "",
            "Med BorgBackup 1.2 eller nyere (Debian/Ubuntu: `apt install borgbackup`):",
            "",
            "```sh",
            'export BORG_PASSCOMMAND="cat $PWD/backup/passphrase.txt"',
            "borg list backup/repository                       # arkivene",
            "borg check backup/repository                      # kontroller repositoryet",
            "mkdir gjenopprettet && cd gjenopprettet",
            "borg extract ../backup/repository::ARKIVNAVN       # pakk ut ett arkiv",
            "```",
            "",
            "Skulle nøkkelen i repositoryet bli skadet: "
            "`borg key import backup/repository backup/key.txt`.",
        ]
    else:
        lines.append("- `backup/`: kommunen har ikke noe backup-repository.")
    lines += [
        "",
        "## Spørsmål",
        "",
        "Ta kontakt med driftsenheten i det regionale huset og oppgi kommunenummer "
        f"{kommune.kommunenummer} og tidspunktet over.",
        "",
    ]
    return "\n".join(lines)
