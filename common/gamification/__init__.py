"""The gamification domain."""
