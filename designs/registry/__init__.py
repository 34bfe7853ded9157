"""The trial registry's core: protocols and their amendments, data cuts and their differences, the
analyses of a look, and the hash chain of the audit trail. Plain data in, plain data out: storage,
tokens and HTTP live in ``service``."""
