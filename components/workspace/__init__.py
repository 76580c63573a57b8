"""The workspace panels of a job's detail view (spec G1-G5), by tab name.

Each panel is built as `Panel(services, project_id, job_id)` inside its tab.
"""

from __future__ import annotations

PANELS: dict[str, type] = {}
