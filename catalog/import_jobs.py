"""Master-data imports as background jobs: the upload is stored with the job, a Celery task imports it.

The import itself (catalog.imports.masters_import) is all-or-nothing; here it is queued, run with the
scope of the person who uploaded, and its progress and report kept on the job.
"""

from __future__ import annotations

from typing import Any

from dms.core.errors import DomainError
from dms.tenancy.jobs import Progress, job_create
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope

from .imports import FORMATS, KINDS, _check_may_import, masters_import

IMPORT_KIND = "masters_import"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def masters_import_start(*, scope: Scope, kind: str, file_name: str, data: bytes) -> BackgroundJob:
    """Validate the request and queue the import. Runs in the caller's tenant transaction."""
    file_format = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if kind not in KINDS:
        raise DomainError("invalid", f"kind must be one of {', '.join(KINDS)}.", fields={"kind": ["Unknown kind."]})
    if file_format not in FORMATS:
        raise DomainError("invalid", "The file must be .csv or .xlsx.", fields={"file": ["Use a .csv or .xlsx file."]})
    if not data:
        raise DomainError("invalid", "The file is empty.", fields={"file": ["The file is empty."]})
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError("invalid", "The file is too large.", fields={"file": ["At most 20 MB."]})
    _check_may_import(scope, kind)
    from .tasks import masters_import_task

    return job_create(scope=scope, kind=IMPORT_KIND, params={"kind": kind, "file_name": file_name,
                                                            "file_format": file_format},
                      payload=data, task=masters_import_task)


def masters_import_job(scope: Scope, job: BackgroundJob, progress: Progress) -> dict[str, Any]:
    """The job's work: import the stored file. A report with errors fails the job (nothing imported)."""
    params = job.params
    progress(0, 2, f"validating {params['file_name']}")
    report = masters_import(scope=scope, kind=params["kind"], data=bytes(job.payload or b""),
                            file_format=params["file_format"])
    if not report.ok:
        raise DomainError("import_failed", report.summary(),
                          extra={"errors": [{"row": e.row, "field": e.field, "message": e.message}
                                            for e in report.errors]})
    progress(2, 2, report.summary())
    return {"summary": report.summary(), "created": report.created, "updated": report.updated,
            "lists_created": report.lists_created, "lists_updated": report.lists_updated}
