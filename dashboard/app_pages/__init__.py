"""Dashboard pages. Each module has a ``render()`` that ``dashboard.app`` hands to ``st.Page``.

Pages hold no SQL: they read through ``dashboard.data`` and ``repwatch.store.queries``.
"""
