"""Domain models; the reports issue adds the first."""
