"""Every deployment, as `remiss up` serves them. deployments/prefect.yaml declares the same
for `prefect deploy` (a test keeps the two alike)."""

from __future__ import annotations

from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger
from prefect.schedules import Cron, Interval

from flows.alert import alert
from flows.compile import compile_round
from flows.inbox import poll_mailbox
from flows.messages import process_answer, sweep
from flows.reminders import remind
from flows.start_round import send_round, start_round

TIMEZONE = "Europe/Stockholm"

BOUNCE_ALERT = DeploymentEventTrigger(
    name="Larm: remissen studsade",
    expect={"remiss.dispatch.bounced"},
    parameters={
        "subject": "Remissen studsade: {{ event.resource['prefect.resource.name'] }}",
        "text": "{{ event.payload.reason }}. Kontrollera adressen i registret och skicka igen.",
        "key": "{{ event.id }}",
    },
)
FAILED_RUN_ALERT = DeploymentEventTrigger(
    name="Larm: flödeskörning misslyckades",
    expect={"prefect.flow-run.Failed"},
    parameters={
        "subject": "Flödeskörningen {{ event.resource['prefect.resource.name'] }} misslyckades",
        "text": "{{ event.payload.validated_state.message }}",
        "key": "{{ event.id }}",
    },
)


def deployments() -> list[RunnerDeployment]:
    made: list[object] = [
        start_round.to_deployment(
            name="starta-remissomgang",
            description="Kontrollera ärendefilen, spara omgången och skicka remissen.",
        ),
        send_round.to_deployment(
            name="skicka-remissomgang", description="Skicka det som återstår i en remissomgång."
        ),
        remind.to_deployment(
            name="paminnelser",
            description="Skicka de påminnelser som ska gå ut, arbetsdagar kl. 08.00.",
            schedules=[Cron("0 8 * * 1-5", timezone=TIMEZONE)],
        ),
        process_answer.to_deployment(
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
        sweep.to_deployment(
            name="svep",
            description="Behandla svar och meddelanden som inte hann behandlas.",
            schedules=[Interval(600)],
        ),
        poll_mailbox.to_deployment(
            name="las-brevladan",
            description="Läs remissbrevlådan: svar, leveransrapporter och studsar.",
            schedules=[Interval(300)],
        ),
        compile_round.to_deployment(
            name="sammanstall",
            description="Sammanställ remissvaren när alla har svarat (eller tiden gått ut).",
            triggers=[
                DeploymentEventTrigger(
                    name="Remissomgången är klar",
                    expect={"remiss.round.complete"},
                    parameters={"round_id": "{{ event.payload.round_id }}", "automatic": True},
                )
            ],
        ),
        alert.to_deployment(
            name="larm",
            description="Mejla driften när en remiss studsar eller en flödeskörning misslyckas.",
            triggers=[BOUNCE_ALERT, FAILED_RUN_ALERT],
        ),
    ]
    # to_deployment is typed as "maybe a coroutine"; called outside an event loop it is not.
    return [d for d in made if isinstance(d, RunnerDeployment)]
