"""Who gets which email (``rules``), how it looks (``render``) and how it leaves (``delivery``).

Importing this package imports nothing heavy: ``delivery`` (aiosmtplib) is imported where used.
"""
