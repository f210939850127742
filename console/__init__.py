"""The 1420 agents' web console: FastAPI with server-rendered Persian (right-to-left) pages.

Build it with :func:`console.app.create_console_app` (``settings, session_factory, clock``).
"""
