"""The store: engine and sessions, models, migrations, retention, secrets at rest, repositories."""
