"""The gateway's HTTP side: a werkzeug WSGI application served by eventlet."""
