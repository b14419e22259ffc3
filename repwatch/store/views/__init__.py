"""Read queries behind the dashboard pages, returning frozen dataclasses.

``queue``: the filtered triage queue and its totals; ``detail``: one item in full, the
author's other mentions and near-duplicates; ``overview``: volume, sentiment, ratings
and response times; ``topics``: the topic x sentiment heat map and month-over-month
change; ``sources``: crawl health from the crawl-run records. Writes live in
``repwatch.store.actions``.
"""

from repwatch.store.job_runs import JobRunView, recent_job_runs
from repwatch.store.views.detail import author_mentions, item_detail, near_duplicates
from repwatch.store.views.digest import FlaggedItems as FlaggedItems
from repwatch.store.views.digest import NegativeSource as NegativeSource
from repwatch.store.views.digest import OverdueItems as OverdueItems
from repwatch.store.views.digest import ResponseTime as ResponseTime
from repwatch.store.views.digest import flagged_items as flagged_items
from repwatch.store.views.digest import new_negative_sources as new_negative_sources
from repwatch.store.views.digest import overdue_items as overdue_items
from repwatch.store.views.digest import response_times as response_times
from repwatch.store.views.digest import topic_examples as topic_examples
from repwatch.store.views.overview import VoiceShare, overview, share_of_voice
from repwatch.store.views.queue import (
    FilterOptions,
    filter_options,
    filtered_queue,
    queue_item,
    queue_items,
    queue_totals,
)
from repwatch.store.views.records import (
    OPEN_STATUSES,
    SENTIMENTS,
    AnalysisView,
    BrandPeriod,
    Bucket,
    CrawlErrorView,
    CrawlRunView,
    ItemDetail,
    LabelView,
    MentionBrief,
    Overview,
    QueueFilter,
    QueueItem,
    QueuePage,
    QueueTotals,
    RatingCount,
    SourceHealth,
    TopicCell,
    TopicChange,
    TopicMonth,
    TopicScore,
    TopicSummary,
)
from repwatch.store.views.sources import crawl_errors, crawl_runs, source_health
from repwatch.store.views.topics import month_bounds, topic_items, topic_summary

__all__ = [
    "OPEN_STATUSES",
    "SENTIMENTS",
    "AnalysisView",
    "BrandPeriod",
    "Bucket",
    "CrawlErrorView",
    "CrawlRunView",
    "FilterOptions",
    "ItemDetail",
    "JobRunView",
    "LabelView",
    "MentionBrief",
    "Overview",
    "QueueFilter",
    "QueueItem",
    "QueuePage",
    "QueueTotals",
    "RatingCount",
    "SourceHealth",
    "TopicCell",
    "TopicChange",
    "TopicMonth",
    "TopicScore",
    "TopicSummary",
    "VoiceShare",
    "author_mentions",
    "crawl_errors",
    "crawl_runs",
    "filter_options",
    "filtered_queue",
    "item_detail",
    "month_bounds",
    "near_duplicates",
    "overview",
    "queue_item",
    "queue_items",
    "queue_totals",
    "recent_job_runs",
    "share_of_voice",
    "source_health",
    "topic_items",
    "topic_summary",
]
