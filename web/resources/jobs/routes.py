"""Background job status for its owner and admins."""

from __future__ import annotations

from flask_smorest import Blueprint

from common.jobs import service
from web.auth import auth_required, current_user_id, is_admin
from web.resources.jobs.schemas import JobSchema

blp = Blueprint("jobs", __name__, url_prefix="/api/jobs", description="Background jobs")


@blp.route("/<string:job_id>")
@auth_required()
@blp.response(200, JobSchema)
def get_job(job_id):
    """The status of one of your jobs (admins: any job)."""
    return service.get_job_for(job_id=job_id, user_id=current_user_id(), is_admin=is_admin())
