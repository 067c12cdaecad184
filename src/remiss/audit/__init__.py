"""The audit log (atgardslogg): every action taken in the workspace, append-only."""
