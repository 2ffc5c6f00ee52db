"""Calendar: takes events, settings, now and the publication ledger.

Gives the bytes of the iCalendar feeds and per-event .ics files, and add-to-calendar links.
"""
