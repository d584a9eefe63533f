"""Imports every page module so that each adds its router to service.web.ROUTERS."""

from __future__ import annotations

from service.web import status  # noqa: F401
from service.web import verify  # noqa: F401
