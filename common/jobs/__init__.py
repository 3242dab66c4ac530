"""The jobs domain."""
