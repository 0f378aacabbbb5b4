"""Alerting: an outbox of state transitions delivered to receivers (DESIGN §7).

healthchecks.io's ``Flip`` pattern: the store writes a ``transition`` row in the same
transaction as the run; :class:`~auditor.alerting.dispatcher.Dispatcher` claims pending
transitions, routes them to the configured receivers, records one ``alert_delivery`` row per
(transition, receiver, purpose) and delivers them with retries and backoff, in order per
receiver. Reminders, send-on-resolved and maintenance windows are handled there too.
"""

from auditor.alerting.base import DeliveryError, Receiver
from auditor.alerting.dispatcher import Dispatcher, list_deliveries

__all__ = ["DeliveryError", "Dispatcher", "Receiver", "list_deliveries"]
