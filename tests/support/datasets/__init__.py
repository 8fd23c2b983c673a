"""The hand-built workspaces of the analytics template tests, one module per test module
(``tests/reports/test_analytics_<name>.py`` tabulates its dataset and checks the answers by hand);
``summaries.py`` is ``tests/reports/test_summaries.py``'s; ``test_analytics_spark.py`` loads them all to
compare Spark with DuckDB."""
