#!/usr/bin/env python
"""Django's command-line utility for Värn."""

from __future__ import annotations

import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["generate_secrets"]:
        # A new production host has no secrets yet, so its settings cannot load: this
        # command must work without them.
        from security_core.environment import production_secret_lines

        print("\n".join(production_secret_lines()))  # noqa: T201
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "security_core.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
