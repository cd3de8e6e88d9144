"""History of measurements: SQLite by default, any SQLAlchemy URL for a team database."""
