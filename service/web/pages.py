"""Imports every page module so that each adds its router to service.web.ROUTERS."""

from __future__ import annotations

from service.web import console, cover, status  # noqa: F401
