"""Imports every table module so `Base.metadata` is complete (for migrations and tests)."""

from omnidesk.analytics import models as analytics_models
from omnidesk.branding import models as branding_models
from omnidesk.channels.conversations import models as conversation_models
from omnidesk.channels.voice import models as voice_models
from omnidesk.crm import models as crm_models
from omnidesk.directory import models as directory_models
from omnidesk.directory.im import models as im_models
from omnidesk.knowledge import models as knowledge_models
from omnidesk.platform import audit, eventlog, tenancy
from omnidesk.platform.auth import models as auth_models
from omnidesk.platform.database import Base
from omnidesk.qa import models as quality_models
from omnidesk.routing import models as routing_models
from omnidesk.surveys import models as survey_models
from omnidesk.wfm.forecasting import models as forecasting_models
from omnidesk.wfm.scheduling import models as scheduling_models

__all__ = [
    "Base",
    "analytics_models",
    "audit",
    "auth_models",
    "branding_models",
    "conversation_models",
    "crm_models",
    "directory_models",
    "eventlog",
    "forecasting_models",
    "im_models",
    "knowledge_models",
    "quality_models",
    "routing_models",
    "scheduling_models",
    "survey_models",
    "tenancy",
    "voice_models",
]
