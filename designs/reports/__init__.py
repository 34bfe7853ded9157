"""The report of a look: tables and figures as functions of the stored canonical JSON, rendered to
self-contained HTML (inline CSS and SVG) and to PDF from the same HTML."""
