"""Screening: the office's review of each registered applicant, from document review
to the first and second interviews, within the rules of the applicant's cohort."""
