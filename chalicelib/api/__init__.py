"""The HTTP edge: with app.py, the only code that knows Chalice, status codes and headers."""
