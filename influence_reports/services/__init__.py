"""Writes of the domain: each a keyword-only, typed, atomic function that takes the actor."""
