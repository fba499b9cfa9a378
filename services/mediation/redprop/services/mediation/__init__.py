"""The mediation service: disputes, four-party deliberation, owners' consultations and tamper-evident records."""
