"""What the end-to-end stories send as an applicant would: one graduate's registration
form and a document body, shared so that the stories stay about the flow."""

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def registration_form(token: str) -> dict:
    return {
        "token": token,
        "given_name": "Linh",
        "family_name": "Nguyen",
        "date_of_birth": "2000-04-12",
        "nationality": "VN",
        "country_of_residence": "VN",
        "education": {
            "institution": "HUST",
            "level": "bachelor",
            "status": "graduated",
            "field_of_study": "Computer Science",
            "graduation_date": "2024-06-30",
        },
        "languages": {"jlpt": "N2"},
        "course_preferences": ["B"],
        "declares_no_final_job_commitment": True,
        "privacy_policy_consent": True,
    }
