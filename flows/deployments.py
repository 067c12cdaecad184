"""Every deployment, as `remiss up` serves them. deployments/prefect.yaml declares the same
for `prefect deploy` (a test keeps the two alike)."""

from __future__ import annotations

from typing import Any

from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger
from prefect.schedules import Cron, Interval

from flows.alert import alert
from flows.archive import apply_retention, archive_round
from flows.check import check_record
from flows.compile import compile_round
from flows.inbox import poll_mailbox
from flows.messages import process_answer, send_round_messages, sweep
from flows.reminders import remind
from flows.start_round import send_round, start_round, start_round_from_draft

TIMEZONE = "Europe/Stockholm"

# A template that is one expression renders to its value's type; the event's id is a UUID,
# which a flow run's parameters (JSON) cannot hold, so the key is written as text.
BOUNCE_ALERT = DeploymentEventTrigger(
    name="Larm: remissen studsade",
    expect={"remiss.dispatch.bounced"},
    parameters={
        "subject": "Remissen studsade: {{ event.resource['prefect.resource.name'] }}",
        "text": "{{ event.payload.reason }}. Kontrollera adressen i registret och skicka igen.",
        "key": "händelse-{{ event.id }}",
    },
)
# A flow run's events name its flow among their related resources. Runs of the larm flow
# raise no alarm: a larm run that failed or crashed would otherwise set off another larm.
NOT_THE_ALARM: dict[str, str | list[str]] = {
    "prefect.resource.role": "flow",
    "prefect.resource.name": f"!{alert.name}",
}
FAILED_RUN_ALERT = DeploymentEventTrigger(
    name="Larm: flödeskörning misslyckades",
    expect={"prefect.flow-run.Failed"},
    match_related=NOT_THE_ALARM,
    parameters={
        "subject": "Flödeskörningen {{ event.resource['prefect.resource.name'] }} misslyckades",
        "text": "{{ event.payload.validated_state.message }}",
        "key": "händelse-{{ event.id }}",
    },
)
# Crashed: the process that ran the flow died. The worker says so when only the flow's
# process died; when the worker died too, the automation in flows/automations.py does.
CRASHED_RUN_ALERT = DeploymentEventTrigger(
    name="Larm: flödeskörning avbröts",
    expect={"prefect.flow-run.Crashed"},
    match_related=NOT_THE_ALARM,
    parameters={
        "subject": (
            "Flödeskörningen {{ event.resource['prefect.resource.name'] }} avbröts (processen dog)"
        ),
        "text": (
            "{{ event.payload.validated_state.message }} Det som hann sparas finns kvar och "
            "inget skickas två gånger: kör flödet igen i Prefect, eller motsvarande "
            "remiss-kommando (till exempel remiss round send), när en arbetare är igång."
        ),
        "key": "händelse-{{ event.id }}",
    },
)


def job_trigger(name: str, *params: str) -> DeploymentEventTrigger:
    """The trigger that runs a workspace job (remiss.cli.portal_app.JOBS) from its event."""
    return DeploymentEventTrigger(
        name=f"Jobb: {name}",
        expect={f"remiss.job.{name}"},
        parameters={p: "{{ event.payload.%s }}" % p for p in params},  # noqa: UP031 (Jinja braces)
    )


def _deployment(flow: Any, **options: Any) -> RunnerDeployment:
    # The synchronous version even when an event loop is running in this thread.
    made = flow.to_deployment(_sync=True, **options)
    assert isinstance(made, RunnerDeployment)
    return made


def deployments() -> list[RunnerDeployment]:
    return [
        _deployment(
            start_round,
            name="starta-remissomgang",
            description="Kontrollera ärendefilen, spara omgången och skicka remissen.",
        ),
        _deployment(
            start_round_from_draft,
            name="starta-fran-arbetsytan",
            description="Spara och skicka en remissomgång som startats i arbetsytan.",
            triggers=[job_trigger("starta", "draft_id")],
        ),
        _deployment(
            send_round,
            name="skicka-remissomgang",
            description="Skicka det som återstår i en remissomgång.",
        ),
        _deployment(
            remind,
            name="paminnelser",
            description="Skicka de påminnelser som ska gå ut, arbetsdagar kl. 08.00.",
            schedules=[Cron("0 8 * * 1-5", timezone=TIMEZONE)],
        ),
        _deployment(
            process_answer,
            name="behandla-svar",
            description="Läs svarets dokument och skicka kvittens när ett svar har kommit in.",
            triggers=[
                DeploymentEventTrigger(
                    name="Ett svar har kommit in",
                    expect={"remiss.answer.received"},
                    parameters={"answer_id": "{{ event.payload.answer_id }}"},
                )
            ],
        ),
        _deployment(
            send_round_messages,
            name="skicka-omgangens-meddelanden",
            description="Skicka det som en åtgärd i arbetsytan har lagt i kö för en remissomgång.",
            triggers=[job_trigger("skicka", "round_id")],
        ),
        _deployment(
            sweep,
            name="svep",
            description="Behandla svar och meddelanden som inte hann behandlas.",
            schedules=[Interval(600)],
        ),
        _deployment(
            poll_mailbox,
            name="las-brevladan",
            description="Läs remissbrevlådan: svar, leveransrapporter och studsar.",
            schedules=[Interval(300)],
        ),
        _deployment(
            compile_round,
            name="sammanstall",
            description="Sammanställ remissvaren när alla har svarat (eller tiden gått ut).",
            triggers=[
                DeploymentEventTrigger(
                    name="Remissomgången är klar",
                    expect={"remiss.round.complete"},
                    parameters={"round_id": "{{ event.payload.round_id }}", "automatic": True},
                ),
                # A handläggare's "Sammanställ nu" in the workspace.
                job_trigger("sammanstall", "round_id"),
            ],
        ),
        _deployment(
            archive_round,
            name="arkivera",
            description="Skapa arkivpaketet (E-ARK SIP) för en avslutad remissomgång.",
            triggers=[job_trigger("arkivera", "round_id")],
        ),
        _deployment(
            apply_retention,
            name="gallring",
            description="Gallra det som gallringsreglerna tillåter (inget som standard).",
            schedules=[Cron("0 4 * * *", timezone=TIMEZONE)],
        ),
        _deployment(
            check_record,
            name="kontroll",
            description=(
                "Kontrollera databasen och dokumentens filer; städa efter avbrott, nattligen."
            ),
            schedules=[Cron("30 3 * * *", timezone=TIMEZONE)],
        ),
        _deployment(
            alert,
            name="larm",
            description=(
                "Mejla driften när en remiss studsar eller en flödeskörning misslyckas "
                "eller avbryts."
            ),
            triggers=[BOUNCE_ALERT, FAILED_RUN_ALERT, CRASHED_RUN_ALERT],
        ),
    ]
