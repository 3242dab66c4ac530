"""Flows that span several domains: each composes domain services so no domain imports another."""
