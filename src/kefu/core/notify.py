"""Sending notifications: one interface, several channels.

``notify`` stores the in-app row (the bell) and hands it to every registered channel after the
transaction commits, so an email or a chat message never goes out for a change that rolled back.
A ``dedupe_key`` makes a notification idempotent per recipient: sending it twice stores one row
and delivers once.
"""

from django.db import IntegrityError, transaction

from kefu.core.models import Notification

_channels = []


def register_channel(deliver):
    """``deliver(notification)`` is called on commit for every new notification."""
    _channels.append(deliver)
    return deliver


def notify(*, recipient, kind, title, body="", url="", dedupe_key=None):
    """Store and deliver one notification; returns it, or None if ``dedupe_key`` was used."""
    if dedupe_key and Notification.objects.filter(recipient=recipient, dedupe_key=dedupe_key).exists():
        return None
    try:
        with transaction.atomic():
            row = Notification.objects.create(
                recipient=recipient, kind=kind, title=str(title)[:200], body=str(body), url=url,
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        return None  # a concurrent sender stored it first
    for deliver in _channels:
        transaction.on_commit(lambda d=deliver, r=row: d(r))
    return row


def unread_count(user):
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
