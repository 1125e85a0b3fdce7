"""Settings, read from the environment (prefix ``MOBILITY_``) and ``.env``; built on first use."""

from config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
