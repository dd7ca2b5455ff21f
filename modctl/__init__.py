"""modctl: carry content-moderation strategies from YAML to production, with git as the source of truth."""

__version__ = "0.1.0"
