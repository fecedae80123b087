"""Summaries, tables, plots and HTML reports of scored nights."""
