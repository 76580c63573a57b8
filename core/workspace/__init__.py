"""What a project's panels work on: files, git, memory, cron, the terminal (spec G)."""
