"""Publish: takes rendered files as {path: bytes}; the only code that writes the publish root.

Gives an atomic, lock-guarded publish with manifest.json, and `serve`, a local preview of it.
"""
