"""Spiders; ``JsonLdReviewSpider`` crawls every ``kind = "reviews"`` source."""
