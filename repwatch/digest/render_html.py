"""The digest as one self-contained HTML page: styles inline, charts as ``data:`` URIs.

Jinja2 escapes every value (``autoescape=True``), so a review's ``<script>`` is shown,
never run; links are made only from http(s) URLs. The page loads nothing from anywhere.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup

from repwatch.digest import text
from repwatch.digest.figures import Digest
from repwatch.digest.template import CSS, MACROS, TEMPLATE


@cache
def _template() -> Template:
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True)
    env.filters.update(
        count_change=text.count_change,
        share=text.share,
        net=text.net,
        points=text.points,
        duration=text.duration,
        when=text.when,
        excerpt=text.excerpt,
        web_url=text.web_url,
        stars=text.stars,
        topic_name=text.topic_name,
        state=text.item_state,
    )
    return env.from_string(MACROS + TEMPLATE)


def digest_html(digest: Digest, *, charts: bool = True) -> str:
    """The digest as an HTML document (with its charts unless ``charts`` is False)."""
    images: dict[str, str] = {}
    if charts:
        from repwatch.digest.charts import chart_images  # matplotlib only when drawing

        images = chart_images(digest)
    return _template().render(d=digest, charts=images, css=Markup(CSS), overdue_by=text.overdue_by)
