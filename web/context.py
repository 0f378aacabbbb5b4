"""What a request handler reaches through the app: the store's Database and the config.

A module of its own so that blueprints never import the app factory that imports them.
"""

from __future__ import annotations

from flask import current_app

from auditor.config import Config
from auditor.store.db import Database

#: ``app.extensions`` keys the app factory fills
STORE_KEY = "auditor.store"
CONFIG_KEY = "auditor.config"


def get_store() -> Database:
    store: Database = current_app.extensions[STORE_KEY]
    return store


def get_config() -> Config:
    config: Config = current_app.extensions[CONFIG_KEY]
    return config
