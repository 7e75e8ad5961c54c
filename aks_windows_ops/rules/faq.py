"""The FAQ questions (and service-facts groups) the rules cite, one enum for every finding and error."""

from __future__ import annotations

import enum

__all__ = ["FaqSection"]


class FaqSection(str, enum.Enum):
    """The FAQ questions (and service-facts groups) that the rules cite in ``Finding.faq``."""

    OPERATING_SYSTEMS = "Which Windows operating systems are supported?"
    LINUX_VS_WINDOWS = "Is Kubernetes different on Windows and Linux?"
    DISKS = "What kind of disks are supported for Windows?"
    WINDOWS_ONLY_CLUSTERS = "Can I run Windows only clusters in AKS?"
    PATCHING = "How do I patch my Windows nodes?"
    NETWORK_PLUGINS = "What network plug-ins are supported?"
    MAX_PODS = "Can I change the maximum number of pods per node?"
    NEW_POOL_ERROR = "Why am I seeing an error when I try to create a new Windows agent pool?"
    DEPLOY_POD_ERROR = "Why am I seeing an error when I try to deploy Windows pods?"
    SERVICE_PRINCIPAL = "How do I rotate the service principal for my Windows node pool?"
    ADMIN_PASSWORD = "How do I change the administrator password for Windows Server nodes on my cluster?"
    POOL_LIMITS = "How many node pools can I create?"
    POOL_NAMES = "What can I name my Windows node pools?"
    FEATURES = "Are all features supported with Windows nodes?"
    GMSA = "Can my Windows Server containers use gMSA?"
    SERVICES = "Are there any limitations on the number of services on a cluster with Windows nodes?"
    HYBRID_BENEFIT = "Can I use Azure Hybrid Benefit with Windows nodes?"
    SESSION_AFFINITY = (
        "Can I maintain session affinity from client connections to pods with Windows containers?"
    )
    SUPPORTED_VERSIONS = (
        "AKS supported Kubernetes versions (learn.microsoft.com/azure/aks/supported-kubernetes-versions)"
    )
    VERSION_SKEW = "Service facts: How the Azure CLI does it (AKS supported Kubernetes versions)"
    PROVISIONING = "Service facts: ARM behaviour (ARM provisioning states)"
    CAPACITY = "Service facts: Azure CNI capacity (Azure CNI capacity)"
