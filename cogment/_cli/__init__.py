"""The ``cogment`` console command (private: only the entry point is public)."""
