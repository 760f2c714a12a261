from enum import StrEnum


class DispatchError(StrEnum):
    INVALID = "invalid"  # 400: a field is wrong; `fields` names it
    PERMISSION_DENIED = "permission_denied"  # 403: the caller's role may not do this
    ALREADY_DISPATCHED = "already_dispatched"  # 409: the order has its dispatch advice (under another reference)
    REFERENCE_CONFLICT = "reference_conflict"  # 409: the reference names another DA or other content
    ALREADY_RECEIVED = "already_received"  # 409: the DA has its goods receipt
