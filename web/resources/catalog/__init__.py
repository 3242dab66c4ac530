"""HTTP routes of the catalog domain."""
