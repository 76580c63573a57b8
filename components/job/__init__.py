"""A job's own controls: its header, the job list, the composer."""
