"""Settings (pydantic-settings), shipped default configuration, and the error tree."""
