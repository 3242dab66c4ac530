"""HTTP routes of the admin domain."""
