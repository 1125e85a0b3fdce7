"""Output of the programme follow-up: pictures (matplotlib), Markdown, CSV and JSON files."""
