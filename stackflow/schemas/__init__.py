"""JSON Schemas stackflow publishes and validates with."""
