"""The automation that ends a dead process's flow runs as Crashed.

A flow run's process sends Prefect a heartbeat event every HEARTBEAT_SECONDS
(PREFECT_FLOWS_HEARTBEAT_FREQUENCY; Prefect's minimum is 30). When a worker and its flow
process are killed (kill -9, a machine that goes away), nothing reports the end of the run
and it would stay Running for ever. This automation, the one Prefect's documentation gives
for "zombie" flow runs, marks a run Crashed once CRASHED_AFTER_SECONDS pass after a
heartbeat with neither another heartbeat nor any other event of that run; the larm
deployment's trigger on `prefect.flow-run.Crashed` (flows/deployments.py) then mails the
operator.

`remiss up` creates it (flows/serve.py); with `prefect deploy`, run
`python -m flows.automations` once against the server (deployments/prefect.yaml says so).
Both are idempotent: the automation is found by its name and brought up to date.
"""

from __future__ import annotations

from datetime import timedelta

from prefect.automations import AutomationCore
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

# Every process that runs flows against the server must beat at least this often: a run
# whose process beats more slowly (Prefect's default is 180 s) would be marked Crashed.
HEARTBEAT_SECONDS = 30
# Three heartbeats missed; Prefect's documentation suggests the same.
CRASHED_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS
HEARTBEAT_ENV = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS)}

NAME = "Körning utan hjärtslag markeras som avbruten (Crashed)"
MESSAGE = (
    f"Inga hjärtslag på {CRASHED_AFTER_SECONDS} sekunder: processen som körde flödet har "
    "dött (arbetaren stoppades eller maskinen föll bort)."
)


def crash_automation() -> AutomationCore:
    return AutomationCore(
        name=NAME,
        description=(
            f"Markerar en flödeskörning som Crashed när dess process inte har hörts av på "
            f"{CRASHED_AFTER_SECONDS} sekunder (hjärtslag var {HEARTBEAT_SECONDS}:e sekund, "
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY). Skapas av `remiss up` och "
            "`python -m flows.automations`."
        ),
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            # Any event of the run is a sign of life: another heartbeat, an end state, or a
            # change such as a wait before a retry, during which no heartbeats come.
            expect={"prefect.flow-run.*"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=CRASHED_AFTER_SECONDS),
        ),
        actions=[
            ChangeFlowRunState(state=StateType.CRASHED, name=None, message=MESSAGE, force=False)
        ],
    )


def _definition(automation: AutomationCore) -> dict[str, object]:
    """What the automation does; the trigger's id is made anew with every copy."""
    return automation.model_dump(
        mode="json", include={"description", "trigger", "actions"}, exclude={"trigger": {"id"}}
    )


def ensure_crash_automation() -> AutomationCore:
    """Create the automation, or bring the one of that name up to date; an operator's
    choice to disable it stays. Copies of it (two processes that started at once) go."""
    wanted = crash_automation()
    with get_client(sync_client=True) as client:
        found = client.read_automations_by_name(NAME)  # the most recently updated first
        if not found:
            client.create_automation(wanted)
            return wanted
        kept, *copies = found
        for copy in copies:
            client.delete_automation(copy.id)
        if _definition(kept) != _definition(wanted):
            wanted.enabled = kept.enabled
            client.update_automation(kept.id, wanted)
            return wanted
        return kept


if __name__ == "__main__":
    made = ensure_crash_automation()
    print(
        f'Automationen "{made.name}" finns i Prefect: en körning som inte har hörts av på '
        f"{CRASHED_AFTER_SECONDS} sekunder markeras som Crashed. Låt arbetarna köra med "
        f"PREFECT_FLOWS_HEARTBEAT_FREQUENCY={HEARTBEAT_SECONDS}."
    )
