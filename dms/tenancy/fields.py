"""DistributorForeignKey: the foreign key between two distributor-owned models.

The database constraint is the composite `(distributor_id, <field>_id) -> parent (distributor_id, id)`
created by dms/tenancy/ddl.py, which also keeps the child in its parent's distributor. A plain
single-column constraint would be redundant (one more check per insert) and is not allowed between
tables distributed by distributor_id in Citus, so Django is told not to create one.
"""

from typing import Any

from django.db import models


class DistributorForeignKey(models.ForeignKey):
    def __init__(self, to: Any, on_delete: Any, **kwargs: Any) -> None:
        kwargs["db_constraint"] = False
        super().__init__(to, on_delete, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("db_constraint", None)
        return name, path, args, kwargs
