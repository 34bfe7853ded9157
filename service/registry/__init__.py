"""The trial registry's storage: every write one transaction with its audit event."""
