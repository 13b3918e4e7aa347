"""Executors: where a due job's function actually runs (threads, processes, event loops).

Nothing is re-exported here: import each executor from its module (``executors.pool``,
``executors.asyncio`` ...), so that the optional packages some of them need are imported only
by those who use them.
"""

__all__: tuple[str, ...] = ()
