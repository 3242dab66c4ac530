"""Forum routes: Q&A posts, replies, votes, accepted answers, flags and the moderation queue."""
