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

# The status of a dispatch as the sender follows it, in order of progress: each a state
# the remiss is in ("skickad", "avstått"), never a verb in another tense. "Kvitterad" is
# not used: a kvittens is the e-mail acknowledging an answer, not the remiss's arrival.
PROGRESS_LABELS: dict[str, str] = {
    "pending": "väntar på utskick",
    "sending": "skickas",
    "failed": "kunde inte skickas",
    "bounced": "studsad",
    "sent": "skickad",
    "delivered": "levererad",
    "opened": "öppnad",
    "received": "mottagandet bekräftat",
    # An e-mail with documents: not an answer until a handläggare has reviewed it.
    "to_review": "svar inkommet via e-post, ska granskas",
    "declined": "avstått",
    "answered": "besvarad",
}


def position_label(position: str) -> str:
    """The Swedish label of any position an answer can carry, the placeholder of an answer
    not yet reviewed included; an unknown code is shown as it is rather than failing."""
    return POSITION_LABELS.get(position, position)
