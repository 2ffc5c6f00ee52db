"""The build cache: takes event files and settings, gives back parsed events and VEVENT bytes
without parsing what did not change; kept in a user-private folder, as sealed JSON lines."""

from pipeline.cache.events import EventCache
from pipeline.cache.place import cache_dir_for

__all__ = ["EventCache", "cache_dir_for"]
