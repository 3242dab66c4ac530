"""The quizzes domain."""
