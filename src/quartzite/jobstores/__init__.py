"""Job stores: where jobs live between runs (memory, SQL databases, Redis).

Nothing is re-exported here: import each store from its module, so that the optional packages the
persistent ones need are imported only by those who use them.
"""

__all__: tuple[str, ...] = ()
