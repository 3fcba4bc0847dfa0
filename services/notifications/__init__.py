"""Notifications: the e-mails the program office sends applicants as their application
moves on (received, documents complete, interview results, match), and the answers to
inquiries. It learns what happened only from the other services' integration events."""
