"""A municipality's whole life in the region: joining, leaving, exit package, purge."""
