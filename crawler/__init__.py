"""The crawler: Scrapy spiders, pipelines and settings that turn review pages into mentions.

Entry point: ``crawler.run.crawl(config)`` (what ``repwatch crawl`` calls), or
``python -m crawler.run --config repwatch.toml`` for one crawl in its own process.
"""
