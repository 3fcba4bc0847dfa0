"""Registration: the applicant's intake, from pre-registration to documents, plus
cohorts, amendments by office staff, and inquiries."""
