"""The domain app: reports, cases, messages and trends (filled in by later issues)."""
