"""Training configs shipped with agentgym, found by name: ``agentgym train maze-grpo-cpu``."""
