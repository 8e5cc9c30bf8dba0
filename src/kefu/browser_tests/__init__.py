"""Browser tests: Playwright (Python) driving Debian's chromium against pytest-django's
live server. Run with ``pytest src/kefu/browser_tests``; they also write the README screenshots
under ``docs/screenshots/``."""
