"""Värn's Django project package and security platform."""

from security_core.celery import app as celery_app

__all__ = ["celery_app"]
