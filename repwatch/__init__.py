"""repwatch: self-hosted review monitoring and reputation crawler.

The core package holds what the crawler, the scorer and the dashboard share:
configuration, storage, triage rules and the command line.
"""

__version__ = "0.1.0"
