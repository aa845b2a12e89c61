"""Local-stack helpers shared by `make run`, `make test` and the test fixtures."""
