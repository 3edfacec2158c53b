"""Orchestration of the GitOps loop as GitHub runs it: the workflows generated from
``stackflow.yaml`` (:mod:`stackflow.gitops.workflows`) and the small helpers those
workflows call (:mod:`stackflow.gitops.pullrequest`)."""
