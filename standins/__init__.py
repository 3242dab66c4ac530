"""Local stand-ins for the internet services we use (Razorpay, Google OpenID), speaking their APIs."""
