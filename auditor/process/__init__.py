"""Processes: the daemon that runs the scheduler and web halves, and the web processes."""
