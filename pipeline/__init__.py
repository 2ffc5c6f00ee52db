"""Publish a community's events as iCalendar feeds and newsletter issues."""

__version__ = "0.1.0"
