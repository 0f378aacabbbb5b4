"""The store: engine and sessions, models, migrations, retention, secrets at rest, repositories."""

# tables kept in their own modules; importing the store registers them with the others
from auditor.store import audit_models as audit_models
from auditor.store import evidence_models as evidence_models
from auditor.store import location_models as location_models
