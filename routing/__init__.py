"""Route optimisation: plain Python and OR-Tools, dataclasses in and out. Imports nothing of dms or Django."""
