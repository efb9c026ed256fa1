"""Planning: how many instances each PE gets and where they run."""
