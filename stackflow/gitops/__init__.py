"""Orchestration of the GitOps loop as GitHub runs it: the workflows generated from
``stackflow.yaml`` (:mod:`stackflow.gitops.workflows`) and the helpers those workflows call
(:mod:`stackflow.gitops.pullrequest`); deploying in promotion order with its lock and
reconciliation (:mod:`stackflow.gitops.deploy`); the append-only deployment log
(:mod:`stackflow.gitops.deploylog`); drift detection and its issues
(:mod:`stackflow.gitops.drift`). Outside systems are reached through
:mod:`stackflow.adapters`."""
