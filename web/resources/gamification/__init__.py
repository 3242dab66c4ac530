"""Gamification routes: XP, badges and leaderboards."""
