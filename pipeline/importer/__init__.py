"""Importer: takes foreign calendars (.ics files or stdin, CSV files with a header row).

Gives event files in the loader's format under events/, and a report of what could not be kept.
"""
