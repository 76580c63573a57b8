"""Git for a project: the service and the status model (spec G3)."""
