"""Helpers for the review page tests: the real app under uvicorn, and Debian's Chromium."""
