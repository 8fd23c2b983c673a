"""Webex-compatible Reports API (SPEC §4.2): templates with stable numeric ids, reports rendered as a
zipped CSV with name, size, checksum and a signed, expiring download link. See ``docs/webex.md``."""
