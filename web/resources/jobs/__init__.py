"""HTTP routes of the jobs domain."""
