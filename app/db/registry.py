"""Imports every models module so Base.metadata knows all tables (for Alembic and tests)."""

from app.access import models as access_models
from app.contacts import models as contacts_models
from app.db.base import Base
from app.scheduling import models as scheduling_models
from app.sending import models as sending_models
from app.tagging import models as tagging_models
from app.webhook import models as webhook_models

__all__ = [
    "Base",
    "access_models",
    "contacts_models",
    "scheduling_models",
    "sending_models",
    "tagging_models",
    "webhook_models",
]
