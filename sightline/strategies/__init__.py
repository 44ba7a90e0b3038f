"""The strategy center (P1–P4): declarative chains of elements that decide which
raw events are emitted, with a trace per event, back-test and an error library.

Pure logic, no database: storage, API and UI build on ``spec``, ``chain``,
``error_library`` and ``backtest``.
"""
