"""The suite's settings: the one settings module, with ``VARN_ENV=test``."""

import os

os.environ["VARN_ENV"] = "test"

from security_core.settings import *  # noqa: F403
