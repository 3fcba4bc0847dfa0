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

#: Dead-letter topics, one per consuming service: each record the service set aside
#: (quarantined), republished as it arrived (key and value) with the reason and its
#: original topic, partition and offset in headers, for operators to watch and replay.
DEAD_LETTERS: Final = {
    "screening": "jip.screening.dlq.v1",
    "matching": "jip.matching.dlq.v1",
    "notifications": "jip.notifications.dlq.v1",
    "audit": "jip.audit.dlq.v1",
}
DEAD_LETTER_TOPICS: Final = tuple(DEAD_LETTERS.values())
