"""The build cache: takes event files and settings, gives back parsed events and VEVENT bytes
without parsing what did not change; kept in a user-private folder, as sealed JSON lines."""

# Light on purpose: an unchanged build imports only place, records, version and run
# (pipeline.cache.events imports the parsers and icalendar).
from pipeline.cache.place import cache_dir_for

__all__ = ["cache_dir_for"]
