"""Domain core shared by the web and worker edges."""
