"""Alerting: an outbox of state transitions delivered to receivers (DESIGN §7).

healthchecks.io's ``Flip`` pattern: the store writes a ``transition`` row in the same
transaction as the run; :class:`~auditor.alerting.dispatcher.Dispatcher` claims pending
transitions (:mod:`.outbox`), routes them to the configured receivers (:mod:`.planner`,
:mod:`.rules`, :mod:`.maintenance`), records one ``alert_delivery`` row per
(transition, receiver, purpose) and delivers them with retries and backoff, in order per
receiver (:mod:`.delivery`). Reminders, send-on-resolved and maintenance windows are planned
there too; :mod:`.history` reads the delivery history for the API.
"""

from auditor.alerting.base import DeliveryError, Receiver
from auditor.alerting.dispatcher import Dispatcher
from auditor.alerting.history import list_deliveries

__all__ = ["DeliveryError", "Dispatcher", "Receiver", "list_deliveries"]
