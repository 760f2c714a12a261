"""mobile models arrive with their issue; the app is registered so migrations and imports are in place."""
