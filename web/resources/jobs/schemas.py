"""Job status schema."""

import marshmallow as ma

from web.fields import AbsoluteUrl, JsonScalar, Timestamp, absolute_url


class JobSchema(ma.Schema):
    job_id = ma.fields.String(attribute="id")
    kind = ma.fields.String()
    status = ma.fields.String()
    progress = ma.fields.Integer()
    error = ma.fields.String(allow_none=True)
    result = ma.fields.Dict(
        keys=ma.fields.String(),
        values=JsonScalar(),
        allow_none=True,
        metadata={"description": "What the job produced, e.g. {certificate_id} or {rows, format, type}"},
    )
    result_url = AbsoluteUrl(allow_none=True)
    created_at = Timestamp()
    started_at = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)


class JobAcceptedSchema(ma.Schema):
    job_id = ma.fields.String()
    status = ma.fields.String()
    status_url = AbsoluteUrl()


def accepted(job):
    """(body, 202, headers) for a write that started background work."""
    url = absolute_url(f"/api/jobs/{job.id}")
    return {"job_id": job.id, "status": job.status, "status_url": url}, 202, {"Location": url}
