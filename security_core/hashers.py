"""A cheaper argon2id for the test suite only (settings add it when VARN_ENV=test)."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class FastTestArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024
    parallelism = 1
