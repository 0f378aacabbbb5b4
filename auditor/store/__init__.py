"""The store: engine and sessions, models, migrations, retention, secrets at rest, repositories."""

# the audit table lives in its own module; importing the store registers it with the others
from auditor.store import audit_models as audit_models
from auditor.store import evidence_models as evidence_models
