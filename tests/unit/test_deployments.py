"""deployments/prefect.yaml (for `prefect deploy`) and flows/deployments.py (served by
`remiss up`) declare the same deployments, schedules and triggers."""

from __future__ import annotations

from typing import Any

import yaml
from prefect.events.schemas.automations import EventTrigger as ClientEventTrigger
from prefect.events.schemas.events import ResourceSpecification as ClientResourceSpecification
from prefect.server.events.schemas.events import RelatedResource, ResourceSpecification

from flows.automations import (
    CRASHED_AFTER_SECONDS,
    HEARTBEAT_ENV,
    HEARTBEAT_SECONDS,
    crash_automation,
)
from flows.deployments import CRASHED_RUN_ALERT, FAILED_RUN_ALERT, deployments
from remiss.core.settings import PROJECT_ROOT


def declared() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((PROJECT_ROOT / "deployments" / "prefect.yaml").read_text("utf-8"))
    return {d["name"]: d for d in doc["deployments"]}


def test_the_yaml_and_the_served_deployments_agree() -> None:
    in_yaml = declared()
    served: dict[str, Any] = {d.name: d for d in deployments()}
    assert set(in_yaml) == set(served)
    for name, d in served.items():
        y = in_yaml[name]
        assert y["entrypoint"] == d.entrypoint, name
        assert y["work_pool"]["name"] == "remiss"
        crons = [(s["cron"], s["timezone"]) for s in y.get("schedules", []) if "cron" in s]
        assert crons == [
            (s.schedule.cron, s.schedule.timezone)
            for s in d.schedules
            if hasattr(s.schedule, "cron")
        ], name
        intervals = [s["interval"] for s in y.get("schedules", []) if "interval" in s]
        assert intervals == [
            s.schedule.interval.total_seconds()
            for s in d.schedules
            if hasattr(s.schedule, "interval")
        ], name
        triggers = [
            (t["name"], t["expect"], t.get("match_related", {}), t["parameters"])
            for t in y.get("triggers", [])
        ]
        assert triggers == [
            (t.name, sorted(t.expect), t.match_related.model_dump(), t.parameters)
            for t in d.triggers
        ], name


def test_the_reminder_schedule_is_in_stockholm_time() -> None:
    (schedule,) = declared()["paminnelser"]["schedules"]
    assert schedule == {"cron": "0 8 * * 1-5", "timezone": "Europe/Stockholm"}


def test_the_alarm_on_failed_and_crashed_runs_leaves_out_the_larm_flow() -> None:
    (larm,) = [d for d in deployments() if d.name == "larm"]
    assert FAILED_RUN_ALERT in larm.triggers
    assert CRASHED_RUN_ALERT in larm.triggers
    assert sorted(FAILED_RUN_ALERT.expect) == ["prefect.flow-run.Failed"]
    assert sorted(CRASHED_RUN_ALERT.expect) == ["prefect.flow-run.Crashed"]
    assert CRASHED_RUN_ALERT.parameters
    assert "avbröts (processen dog)" in CRASHED_RUN_ALERT.parameters["subject"]

    def related(flow: str) -> list[RelatedResource]:
        # As the server relates a flow run's state event: its flow, deployment and tags.
        return [
            RelatedResource.model_validate(
                {"prefect.resource.id": "prefect.flow.1", "prefect.resource.role": "flow",
                 "prefect.resource.name": flow}
            ),
            RelatedResource.model_validate(
                {"prefect.resource.id": "prefect.deployment.2",
                 "prefect.resource.role": "deployment", "prefect.resource.name": "larm"}
            ),
            RelatedResource.model_validate(
                {"prefect.resource.id": "prefect.tag.larm", "prefect.resource.role": "tag"}
            ),
        ]  # fmt: skip

    for trigger in (FAILED_RUN_ALERT, CRASHED_RUN_ALERT):
        assert isinstance(trigger.match_related, ClientResourceSpecification)
        # Matched as Prefect's server matches a trigger's match_related.
        spec = ResourceSpecification.model_validate(trigger.match_related.model_dump())
        assert spec.includes(related("starta-remissomgång")), trigger.name
        assert spec.includes(related("skicka-remissomgång")), trigger.name
        assert not spec.includes(related("larm")), trigger.name


def test_flow_runs_beat_often_enough_for_the_crash_automation() -> None:
    doc = yaml.safe_load((PROJECT_ROOT / "deployments" / "prefect.yaml").read_text("utf-8"))
    env = doc["definitions"]["work_pool"]["job_variables"]["env"]
    assert env == HEARTBEAT_ENV == {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"}
    trigger = crash_automation().trigger
    assert isinstance(trigger, ClientEventTrigger)
    assert trigger.within.total_seconds() == CRASHED_AFTER_SECONDS == 3 * HEARTBEAT_SECONDS
    assert trigger.posture == "Proactive"


def test_a_flow_run_by_a_command_beats_as_often_as_a_workers() -> None:
    """Prefect's default (180 s) is longer than the automation waits (90 s): a command's
    run longer than that would be marked Crashed, and raise a false alarm, while working."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    from flows.automations import HEARTBEAT_SECONDS
    from remiss.cli.app import run_flow

    assert run_flow(PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value) == HEARTBEAT_SECONDS


def test_every_workspace_job_has_a_deployment_whose_trigger_runs_its_flow() -> None:
    from remiss.cli.portal_app import JOBS

    served = deployments()
    for name, target in JOBS.items():
        module, function = target.split(":")
        runs = [
            d
            for d in served
            for t in d.triggers
            if f"remiss.job.{name}" in getattr(t, "expect", set())
        ]
        assert len(runs) == 1, name
        assert runs[0].entrypoint == f"{module.replace('.', '/')}.py:{function}", name
