"""The use cases: plain Python over a repository port, with no Chalice, boto3 or HTTP in sight."""
