"""Readiness: score, verdict and level per service (pure), loading it from the store, the CI/CD gate."""
