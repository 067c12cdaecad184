"""Prefect flows: thin orchestration over the remiss package."""
