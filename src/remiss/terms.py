"""Codes used in files and the database, with the Swedish words users read."""

from __future__ import annotations

ARENDETYPER: dict[str, str] = {
    "motion": "motion",
    "skrivelse": "skrivelse",
    "promemoria": "promemoria",
    "betankande": "betänkande",
    "rapport": "rapport",
    "forslag": "förslag",
    "ovrigt": "övrigt",
}
