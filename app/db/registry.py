"""Imports every models module so Base.metadata knows all tables (for Alembic and tests)."""

from app.access import models as access_models
from app.agents import models as agents_models
from app.contacts import models as contacts_models
from app.db.base import Base
from app.queue import models as queue_models
from app.reports import models as reports_models
from app.scheduling import models as scheduling_models
from app.sending import models as sending_models
from app.tagging import models as tagging_models
from app.webhook import models as webhook_models

__all__ = [
    "Base",
    "access_models",
    "agents_models",
    "contacts_models",
    "queue_models",
    "reports_models",
    "scheduling_models",
    "sending_models",
    "tagging_models",
    "webhook_models",
]
