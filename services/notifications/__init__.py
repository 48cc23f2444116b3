"""The notifications service: turns domain events into e-mails and in-app messages."""
