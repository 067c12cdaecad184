"""The E-ARK validator (eark-validator, from PyPI) run offline.

On import it reads four CSIP vocabularies from their URLs; the same files ship inside the
package (eark_validator/ipxml/resources/vocabs), so those four URLs are served from there
and any other address is refused: the tests reach no network."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

_real_urlopen = urllib.request.urlopen

# Rules of eark-validator 1.1.3 that no valid package can meet, each with why:
# SIP14 asks every note of a CREATOR agent for an un-namespaced NOTETYPE="IDENTIFICATIONCODE",
# but CSIP16 requires the software creator's note to carry csip:NOTETYPE="SOFTWARE VERSION",
# and the METS schema (mets.xsd: note anyAttribute namespace="##other") refuses any
# un-namespaced attribute on a note; the SIP specification means the submitting
# organisation's csip:NOTETYPE. Only this exact rule is forgiven, once.
KNOWN_DEFECTS = {"SIP14"}


def _vocabulary(url: Any, *args: Any, **kwargs: Any) -> Any:
    import importlib.util

    text = url if isinstance(url, str) else url.full_url
    prefix = "https://earkcsip.dilcis.eu/schema/"
    if not text.startswith(prefix):
        raise OSError(f"no network in the tests: {text}")
    spec = importlib.util.find_spec("eark_validator")
    assert spec is not None
    assert spec.submodule_search_locations
    vocabs = Path(next(iter(spec.submodule_search_locations))) / "ipxml" / "resources" / "vocabs"
    return (vocabs / text.removeprefix(prefix)).open("rb")


def validate(package: Path) -> tuple[bool, list[str]]:
    """Whether the package (a zip or a folder) is a valid E-ARK SIP, and every error and
    warning the validator gives (a rule in KNOWN_DEFECTS failing once is not an error)."""
    urllib.request.urlopen = _vocabulary
    try:
        from eark_validator.packages import PackageValidator  # type: ignore[import-untyped]
    finally:
        urllib.request.urlopen = _real_urlopen
    report = PackageValidator(package).validation_report
    messages: list[str] = []
    valid = True
    for message in report.structure.messages:
        messages.append(f"structure {message.severity}: {message.rule_id} {message.message}")
        if str(message.severity).lower().endswith("error"):
            valid = False
    if report.structure.status.value.lower() != "wellformed":
        valid = False
    if report.metadata is None:
        return False, messages
    forgiven: list[str] = []
    for results in (report.metadata.schema_results, report.metadata.schematron_results):
        for message in results.messages:
            severity = str(message.severity).rsplit(".", 1)[-1].upper()
            messages.append(f"{severity}: {message.rule_id} {message.message}")
            if severity == "ERROR":
                if message.rule_id in KNOWN_DEFECTS and message.rule_id not in forgiven:
                    forgiven.append(message.rule_id)
                else:
                    valid = False
    return valid, messages
