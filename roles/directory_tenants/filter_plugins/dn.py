"""`dn_value`: a municipality's name as the value of an RDN (OU=<value>).

The name comes from a kommuner/ file. Validation already refuses the characters that
mean something in a DN; escaping here as well (RFC 4514) keeps a name that slipped
past it from moving the OU elsewhere in the tree (`Tinn,OU=Region`). The name is
NFC-normalised first, so a file saved with decomposed letters (NFD) names the same OU.
"""

from __future__ import annotations

import unicodedata

SPECIAL = ',+"\\<>;='


def dn_value(value: str) -> str:
    text = unicodedata.normalize("NFC", str(value))
    out = "".join("\\" + c if c in SPECIAL else c for c in text).replace("\x00", "\\00")
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


class FilterModule:
    def filters(self) -> dict:
        return {"dn_value": dn_value}
