"""The applicant status page is rebuilt from the log while the service runs: the
operator's rebuild and the service's own projector may both be following the log, and
a batch read before the view was cleared must not land on the cleared view (it would
leave out every applicant before it)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
from eventsourcing.utils import get_topic

from infra import InfraSettings
from kernel.actor import staff
from services.registration.adapters.status_view import StatusProjector, StatusView
from services.registration.application.service import RegistrationApplication
from services.registration.bootstrap import build_application, connect_status_view
from services.registration.settings import RegistrationSettings
from tests.integration.test_registration import cohort_spec, fresh_cohort_id
from tests.support import database_of, keystore_settings


@pytest.fixture
async def service(
    infra: InfraSettings,
) -> AsyncIterator[tuple[RegistrationApplication, StatusView]]:
    settings = RegistrationSettings(
        pg_database=database_of("registration"), pg_pool_size=2, **keystore_settings(infra)
    )
    app = await asyncio.to_thread(build_application, settings)
    view = await connect_status_view(settings, app.personal)
    yield app, view
    await view.pool.close()
    app.close()


def cohort(cohort_id: str) -> dict:
    """A cohort open for applications now, as the HTTP API hands it to the service."""
    spec = cohort_spec(cohort_id)
    for moment in ("applications_open_at", "applications_close_at"):
        spec[moment] = datetime.fromisoformat(spec[moment])
    for day in ("age_reference_date", "results_by"):
        spec[day] = date.fromisoformat(spec[day])
    return spec


def preregister(app: RegistrationApplication, cohort_id: str) -> uuid.UUID:
    applicant_id, _ = app.preregister(
        cohort_id, f"rebuild-{uuid.uuid4().hex[:8]}@example.org", uuid.uuid4()
    )
    return applicant_id


async def catch_up(projector: StatusProjector) -> None:
    while await projector.step():
        pass


def last_shown_event_id(app: RegistrationApplication) -> int:
    """The log position of the last event the status page shows (the projector reads
    only those, so that is how far a view that caught up has recorded)."""
    topics = [get_topic(cls) for cls in StatusProjector.event_types]
    shown = app.recorder.select_notifications(start=None, limit=1_000_000, topics=topics)
    return shown[-1].id


async def test_a_batch_read_before_the_view_was_cleared_is_not_applied_to_it(service):
    app, view = service
    projector = StatusProjector(app, view)
    cohort_id = fresh_cohort_id()
    app.open_cohort(cohort(cohort_id), staff("staff-001", "admin"), uuid.uuid4())
    earlier = preregister(app, cohort_id)
    await catch_up(projector)
    later = preregister(app, cohort_id)

    # Given the service's projector has read the next batch
    position = await projector.load_position()
    batch = await asyncio.to_thread(projector._read_after, position)
    # When the operator clears the view for a rebuild before that batch is applied
    await view.clear()
    await projector.handle(batch)
    # Then the batch does not land on the cleared view
    assert await view.get(later) is None and await view.position() == 0

    # And following the log rebuilds the whole view, the earlier applicant included
    await catch_up(projector)
    assert (await view.get(earlier))["stage"] == "preregistered"
    assert (await view.get(later))["stage"] == "preregistered"
    assert await view.position() == last_shown_event_id(app)
