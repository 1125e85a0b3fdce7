"""The flows publish their events through ``notifications.events`` (where the link pages can
reach it too); this name stays so that flows keep one import."""

from notifications.events import publish_delivery, publish_events

__all__ = ["publish_delivery", "publish_events"]
