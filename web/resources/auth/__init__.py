"""HTTP routes of the auth domain."""
