"""The item type spiders yield: ``repwatch.records.MentionRecord`` (a frozen dataclass).

Scrapy handles dataclass items natively; pipelines replace fields with
``dataclasses.replace`` rather than mutating them.
"""

from repwatch.records import MentionRecord

__all__ = ["MentionRecord"]
