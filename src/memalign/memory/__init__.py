"""The two memories: semantic (guidelines) and episodic (examples)."""
