"""Small, dependency-free helpers shared by every app: errors, money, time, actors."""
