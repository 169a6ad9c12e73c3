"""The sections of each report chapter: tables, charts and findings built on the facts and models."""
