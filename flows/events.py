"""The flows publish their events through ``notifications.events`` (where the link pages can
reach it too); this name stays so that flows keep one import."""

from notifications.events import announce_queued_mail, publish_delivery, publish_events

__all__ = ["announce_queued_mail", "publish_delivery", "publish_events"]
