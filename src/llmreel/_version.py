"""The version of llmreel, in one place."""

__version__ = "0.1.0"
