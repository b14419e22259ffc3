"""``repwatch run``: the long-running service that crawls, scores, flags, alerts and writes
the weekly digest on the schedule of ``[schedule]`` in ``repwatch.toml``.

``cron`` parses the expressions, ``plan`` turns the config into jobs, ``runner`` runs
them with APScheduler and records each run in ``job_runs``, ``digest_job`` writes and
sends the digest. Nothing here imports ``crawler`` or ``sentiment``: crawls run in a
subprocess (``python -m crawler.run``), and the CLI passes scoring in.
"""
