#!/usr/bin/env python
"""The Channels tutorial's project, as `django-admin startproject mysite` leaves it."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
