"""Fathom's PySide6 front end. It imports ``engine``; the engine never imports it."""
