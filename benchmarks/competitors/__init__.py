"""The competitors: each report template's hand-written DuckDB SQL query, the same query for
PostgreSQL 15 (its dialect), and a pandas script -- each written from the template's code and
docs/reports.md to return the **same answer** as callboard (the runner checks a few aggregate
numbers of every answer against callboard's before it reports a time).

* :mod:`.base` -- the shared primitives (``Scope``, the dialects, ``seg_cte``, ``Case``, …);
* :mod:`.core`, :mod:`.lost`, :mod:`.usage`, :mod:`.analytics_pandas` -- the competitors, by template;
* :mod:`.cases` -- all of them gathered (``all_cases``), and the answer checks;
* :mod:`.postgres` -- the throwaway PostgreSQL 15 cluster the PostgreSQL queries run on.
"""
