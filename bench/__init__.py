"""Benchmarks (not tests): data profiles, a ceiling app, load runs and reports."""
