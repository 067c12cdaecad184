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

# A remissinstans's position on the whole case or on one att-sats.
STALLNINGSTAGANDEN: dict[str, str] = {
    "tillstyrker": "tillstyrker",
    "tillstyrker_delvis": "tillstyrker delvis",
    "avstyrker": "avstyrker",
    "inga_synpunkter": "inga synpunkter",
    "besvarad": "anser motionen besvarad",
}

# An answer that came by e-mail, until a person has read it and recorded its position.
NOT_REVIEWED = "ej_granskat"

# Every position an answer can carry, for display (the forms offer STALLNINGSTAGANDEN).
POSITION_LABELS: dict[str, str] = {
    **STALLNINGSTAGANDEN,
    NOT_REVIEWED: "ännu inte granskat (svaret kom med e-post)",
}

# The state of a dispatch as the sender follows it, in order of progress.
PROGRESS_LABELS: dict[str, str] = {
    "pending": "väntar på utskick",
    "sending": "skickas",
    "failed": "misslyckades",
    "bounced": "studsade",
    "sent": "skickad",
    "delivered": "levererad",
    "opened": "öppnad",
    "received": "kvitterad",
    "declined": "avstår",
    "answered": "besvarad",
}
