"""HTTP routes of the learning domain."""
