"""Storage: the only place in repwatch that holds SQL.

``open_database(url)`` returns an engine on a migrated schema; ``repwatch.store.queries``
holds every read and write the other packages need.
"""

from repwatch.store.db import open_database, session_scope

__all__ = ["open_database", "session_scope"]
