"""Reusable widgets: parameter forms, slice views, the task bar, the message bar, the log panel."""
