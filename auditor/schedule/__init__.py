"""Scheduling: due times (triggers), leases and the worker, the runner, the state machine."""
