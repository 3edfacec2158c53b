"""Sinks that turn a Plan into text for people: Markdown for pull requests and job
summaries (:mod:`stackflow.render.markdown`), tables for terminals. Renderers are pure
functions of their inputs, so they are golden-file tested and never touch the network."""
