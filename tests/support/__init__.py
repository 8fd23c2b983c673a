"""Helpers shared by several test modules (no tests here).

- ``api``: the Results API ``Api`` session helper, the seed-000 document shapes and ``check_error``.
- ``roundtrip``: the six segments of the Results API round trip and their expected rows.
- ``calls``: the hand-built workspace of ``tests/reports/test_templates.py``.
- ``analytics``: segment rows, loading and a report runner for the analytics template tests.
- ``datasets``: the hand-built workspaces of the ``test_analytics_*`` modules (shared with Spark parity).
- ``webex_live``: a live callboard server with one organisation, for the Webex tests.
- ``webex``: polling, unzipping and Results API helpers of the Webex tests.

Imported as ``tests.support.<module>``: pytest puts the repository root on ``sys.path``
(``pythonpath = ["."]`` in pyproject.toml).
"""
