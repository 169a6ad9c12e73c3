"""The demo data generator (never imported by a report on the user's data)."""
