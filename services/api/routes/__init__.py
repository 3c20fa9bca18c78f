"""HTTP routes; every one is described in services/api/README.md."""
