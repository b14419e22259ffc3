"""Demo review site: bundled fictional reviews served over local HTTP.

Used to exercise the crawler end-to-end without touching real websites.
"""

from repwatch.demo.site import BRANDS, DemoReview, DemoSite, load_demo_reviews

__all__ = ["BRANDS", "DemoReview", "DemoSite", "load_demo_reviews"]
