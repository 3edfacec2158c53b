"""Kubernetes components: a fenced namespace and a securely configured app."""

from components.k8s.app import App, AppArgs, Autoscaling, ContainerResources, ServiceType
from components.k8s.namespace import Namespace, NamespaceArgs

__all__ = [
    "App",
    "AppArgs",
    "Autoscaling",
    "ContainerResources",
    "Namespace",
    "NamespaceArgs",
    "ServiceType",
]
