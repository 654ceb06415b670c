"""Deduplication: exact copies, near-duplicate wire copies and story clusters.

``sketch`` turns texts into sampled character-gram hashes, ``cluster`` groups copies under their
canonical copy, ``canonical`` is the policy that picks it, ``history`` is the index of stored
articles in DuckDB, ``story`` the looser grouping of write-ups of one event, and ``records``
the ``newsingest dedup`` command.
"""
