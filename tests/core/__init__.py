"""The domain end to end, in-process, against the real CLI and the scripted model."""
