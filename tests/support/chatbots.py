"""The chat platforms' loopback robot servers live in the lab package (the monitoring demo
delivers its alerts to them too): :mod:`auditor.lab.chatbots`."""

from auditor.lab.chatbots import Platforms, Robot, Seen, chat_platforms

__all__ = ["Platforms", "Robot", "Seen", "chat_platforms"]
