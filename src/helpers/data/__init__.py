"""Data access: the canonical schema, reading raw exports, cleaning rules, privacy and the preparation."""
