"""How a renderer should render: language and where the bundle's files are."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderOptions:
    """``lang``: ``zh`` (default) or ``en``. ``bundle_href``: prefix of links to the bundle's
    files (empty when the rendering is written into the bundle itself)."""

    lang: str = "zh"
    bundle_href: str = ""
