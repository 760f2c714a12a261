"""The analytics pages of the admin: the KPI dashboard, the journeys and the funnel (analytics/admin.py)."""
