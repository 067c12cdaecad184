"""deployments/prefect.yaml (for `prefect deploy`) and flows/deployments.py (served by
`remiss up`) declare the same deployments, schedules and triggers."""

from __future__ import annotations

from typing import Any

import yaml

from flows.deployments import deployments
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
        triggers = [(t["name"], t["expect"], t["parameters"]) for t in y.get("triggers", [])]
        assert triggers == [(t.name, sorted(t.expect), t.parameters) for t in d.triggers], name


def test_the_reminder_schedule_is_in_stockholm_time() -> None:
    (schedule,) = declared()["paminnelser"]["schedules"]
    assert schedule == {"cron": "0 8 * * 1-5", "timezone": "Europe/Stockholm"}
