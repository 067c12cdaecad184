"""Prefect flows: thin orchestration over the remiss package."""

from flows import heartbeats

heartbeats.install()
