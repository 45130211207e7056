"""`prakerja simulate`: the 2020 program driven day by day through the system's own services."""
