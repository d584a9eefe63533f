"""Imports every page module so that each adds its router to service.web.ROUTERS."""

from __future__ import annotations

import service.web.verify  # noqa: F401
from service.web import console, cover, status  # noqa: F401
