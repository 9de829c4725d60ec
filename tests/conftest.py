"""Shared fixtures. Heavy tests carry markers and skip with the reason when a dependency is absent."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
