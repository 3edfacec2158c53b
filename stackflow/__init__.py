"""stackflow: Pulumi infrastructure as code with GitOps glue."""

__version__ = "0.1.0"
