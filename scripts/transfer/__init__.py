"""Import customers from a CSV or JSON Lines file, and export them to one: an operator's tool, not a route.

    python -m scripts.transfer import customers.csv [--stage local|dev|prod] [--format csv|jsonl]
    python -m scripts.transfer export customers.csv [--stage local|dev|prod] [--format csv|jsonl]

`make import FILE=...` and `make export FILE=...` run these; docs/import-export.md
describes the file format, the errors file and what a rerun does.
"""
