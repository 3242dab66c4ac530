"""HTTP routes of the quizzes domain."""
