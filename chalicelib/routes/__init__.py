"""HTTP routes (Chalice blueprints): parse and validate input, call one service, shape the response."""
