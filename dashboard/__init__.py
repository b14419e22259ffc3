"""The triage dashboard: a Streamlit app over ``repwatch.store.queries``.

``repwatch dashboard`` starts it through ``dashboard.launch``; the app finds its
``repwatch.toml`` through the ``REPWATCH_CONFIG`` environment variable
(``dashboard.launch.CONFIG_ENV``).
"""
