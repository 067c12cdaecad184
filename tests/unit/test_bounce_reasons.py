"""Why a remiss bounced, in Swedish, read from real delivery status notifications
(tests/fixtures/real/bounces: Exchange 2007, Exchange Online and Postfix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from remiss.inbox.parse import bounce_reason, parse

BOUNCES = Path(__file__).parents[1] / "fixtures" / "real" / "bounces"

EXPECTED = {
    "lhost-exchange2007-01": ("adressen finns inte hos mottagarens e-postserver", "5.1.1"),
    "lhost-exchange2007-03": ("meddelandet är större än mottagarens brevlåda tar emot", "5.2.3"),
    "lhost-exchange2007-04": (
        "mottagarens e-postserver tog inte emot meddelandet från oss",
        "5.7.1",
    ),
    "lhost-exchange2007-05": ("meddelandet var för länge på väg (ett tillfälligt fel", "4.4.7"),
    "lhost-office365-03": ("något är fel med en adress i meddelandet", "5.1.0"),
    "lhost-office365-05": ("mottagarens e-postserver godtog inte avsändarens adress", "5.1.8"),
    "lhost-office365-06": (
        "meddelandet kunde inte nå fram till mottagarens e-postserver",
        "5.4.312",
    ),
    "lhost-office365-12": ("mottagarens brevlåda är full", "5.2.2"),
    "lhost-office365-13": ("mottagarens adress eller domän tar inte emot e-post", "5.1.10"),
    "lhost-postfix-02": ("mottagarens brevlåda är avstängd", "5.2.1"),
    "lhost-postfix-03": ("mottagarens e-postserver tog inte emot meddelandet", "5.0.0"),
    "lhost-postfix-06": ("mottagarens e-postserver gick inte att nå", "5.4.4"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_real_bounce_gives_its_reason_in_swedish_with_the_servers_own_words(name: str) -> None:
    mail = parse((BOUNCES / f"{name}.eml").read_bytes())

    phrase, code = EXPECTED[name]
    assert mail.kind == "bounced"
    assert mail.reason is not None
    assert mail.reason.startswith(phrase)
    # The server's words follow in brackets, with the status code, for the registrator.
    said = mail.reason[len(phrase) :]
    assert code in said
    assert said.rstrip().endswith(")")


def test_every_fixture_is_checked() -> None:
    assert {p.stem for p in BOUNCES.glob("*.eml")} == set(EXPECTED)


def test_a_bounce_without_a_status_code_says_that_no_reason_was_given() -> None:
    assert bounce_reason([], []) == "orsaken angavs inte"
    assert bounce_reason([], ["X-Unix; mail loop"]) == "orsaken angavs inte (X-Unix; mail loop)"


def test_the_status_field_gives_the_code_when_the_diagnostic_has_none() -> None:
    assert bounce_reason(["5.2.2"], ["smtp; 552 Quota exceeded"]) == (
        "mottagarens brevlåda är full (5.2.2: smtp; 552 Quota exceeded)"
    )
