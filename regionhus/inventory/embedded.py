"""The embedded default source: the checked-in host list of the lab region."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from regionhus.errors import InvalidConfiguration
from regionhus.inventory.hosts import HostSet
from regionhus.validate import Finding, schema_findings
from regionhus.yamlfile import YamlSyntaxError, load_yaml

EMBEDDED_FILE = Path("inventory") / "lab-region.hosts.yml"


class EmbeddedSource:
    name = "embedded"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / EMBEDDED_FILE

    def describe(self) -> str:
        return str(EMBEDDED_FILE)

    def load(self) -> HostSet:
        rel = str(EMBEDDED_FILE)
        try:
            doc = load_yaml(self.path)
        except YamlSyntaxError as exc:
            raise InvalidConfiguration([Finding(rel, exc.line, "", exc.message)]) from exc
        except OSError as exc:
            raise InvalidConfiguration(
                [Finding(rel, None, "", f"cannot read: {exc.strerror}", "restore it from git")]
            ) from exc
        try:
            return HostSet.model_validate(doc.data)
        except ValidationError as exc:
            raise InvalidConfiguration(schema_findings(HostSet, doc, rel, exc)) from exc
