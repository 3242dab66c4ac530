"""HTTP routes of the certificates domain."""
