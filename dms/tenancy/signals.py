"""Signals of the tenancy core, for apps above it (tenancy imports no app)."""

from django.dispatch import Signal

# Sent inside the transaction that revokes a device (kwargs: device). The mobile app ends the device's sessions,
# so a device registered again later does not bring its old refresh tokens back.
device_revoked = Signal()
