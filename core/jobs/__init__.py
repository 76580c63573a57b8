"""Jobs and their live Claude Code sessions: the manager, prompts, images, approvals, the running-turn scheduler,
the importer and job search (spec C, E).
"""
