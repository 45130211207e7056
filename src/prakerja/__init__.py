"""Information system of a national pre-employment card program (Kartu Prakerja)."""

__version__ = "0.1.0"
