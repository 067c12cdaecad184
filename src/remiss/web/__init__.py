"""The answer page for remissinstanser and the staff view (FastAPI + Jinja2, no JavaScript)."""
