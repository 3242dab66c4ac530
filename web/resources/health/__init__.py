"""HTTP routes of the health domain."""
