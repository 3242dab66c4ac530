"""Job task helpers shared by the domain task modules."""
