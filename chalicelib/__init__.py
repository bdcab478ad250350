"""The agent-allocation service: everything but the routes (which live in app.py and routes/)."""
