"""The forum domain."""
