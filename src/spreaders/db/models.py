"""Every table of every domain, imported in one place for Alembic."""

from spreaders.accounts.models import ApiKey, Tenant, User
from spreaders.campaigns.models import Campaign
from spreaders.db.base import Base
from spreaders.monitor.models import WorkflowExecution
from spreaders.orchestrator.models import Deployment
from spreaders.provisioning.models import InstanceBackup, N8nInstance
from spreaders.registry.models import TemplateRating, WorkflowCategory, WorkflowDependency, WorkflowTemplate
from spreaders.vault.models import AuditEvent, ConnectRequest, Credential, VaultKey

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "Campaign",
    "ConnectRequest",
    "Credential",
    "Deployment",
    "InstanceBackup",
    "N8nInstance",
    "TemplateRating",
    "Tenant",
    "User",
    "VaultKey",
    "WorkflowCategory",
    "WorkflowDependency",
    "WorkflowExecution",
    "WorkflowTemplate",
]
