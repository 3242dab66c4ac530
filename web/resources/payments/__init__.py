"""HTTP routes of the payments domain."""
