"""Adapters: the small interfaces behind which outside systems sit. GitHub's REST API
(:mod:`stackflow.adapters.github`), the git repository (:mod:`stackflow.adapters.gitrepo`),
blob stores for records and registries on a folder or S3 (:mod:`stackflow.adapters.storage`)
and the state backend's bootstrap (:mod:`stackflow.adapters.backend`). Nothing here decides
what to deploy; the orchestration in :mod:`stackflow.gitops` does, through these."""
