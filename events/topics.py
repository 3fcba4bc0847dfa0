"""Kafka topics of the JIP backbone: one per producing service, versioned in the name.

Every topic is keyed by aggregate id, so one applicant's (or one match's) events keep
their order within a partition. Topics are created explicitly by `infra`, with
unlimited retention: the log is the record that auditors replay.
"""

from typing import Final

REGISTRATION: Final = "jip.registration.v1"
SCREENING: Final = "jip.screening.v1"
MATCHING: Final = "jip.matching.v1"
NOTIFICATIONS: Final = "jip.notifications.v1"

ALL_TOPICS: Final = (REGISTRATION, SCREENING, MATCHING, NOTIFICATIONS)

TOPIC_OF_PRODUCER: Final = {
    "registration": REGISTRATION,
    "screening": SCREENING,
    "matching": MATCHING,
    "notifications": NOTIFICATIONS,
}
