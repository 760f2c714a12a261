from enum import StrEnum


class DispatchError(StrEnum):
    INVALID = "invalid"  # 400: a field is wrong; `fields` names it
    PERMISSION_DENIED = "permission_denied"  # 403: the caller's role may not do this
    ALREADY_DISPATCHED = "already_dispatched"  # 409: the order has its dispatch advice (under another reference)
    REFERENCE_CONFLICT = "reference_conflict"  # 409: the reference names another DA or other content
    ALREADY_RECEIVED = "already_received"  # 409: the DA has its goods receipt
    OVER_CAPACITY = "over_capacity"  # 400: the invoices weigh, fill or count more than the vehicle takes
    NOT_LOADABLE = "not_loadable"  # 409: an invoice is not issued, its order not invoiced, or it is on a load form
    VEHICLE_BOOKED = "vehicle_booked"  # 409: the vehicle has a live load form for that date already
    WRONG_STATE = "wrong_state"  # 409: the load form is not in the state the action needs
    ALREADY_RECORDED = "already_recorded"  # 409: the invoice's delivery was recorded otherwise already
    NOT_SETTLED = "not_settled"  # 409: settlement refused; `extra.differences` lists why
