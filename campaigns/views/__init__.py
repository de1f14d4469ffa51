"""Campaign pages and the campaign wizard."""

from .pages import campaign_delete, campaign_detail, campaign_list
from .wizard import wizard_new, wizard_resume, wizard_step

__all__ = [
    "campaign_delete",
    "campaign_detail",
    "campaign_list",
    "wizard_new",
    "wizard_resume",
    "wizard_step",
]
